"""Reads for proof of liabilities and reserves: what the hub owes now (from its ledger), the
published roots in their JSON form, inclusion proofs, and the reserve ratio per asset.

Every liability is a ledger account the hub owns (hub/ledger): the layers above post to accounts
with the prefixes below, so the hub reads what it owes without importing them."""

from __future__ import annotations

import re
from decimal import ROUND_DOWN, Decimal
from functools import lru_cache
from typing import Any

from django.db.models import Q, Sum

from hub.channels.models import Channel
from hub.core.liabilities import ASSETS, Leaf, Tree, proof_json, tree_from_nodes
from hub.ledger import accounts as ledger_accounts
from hub.ledger.models import LedgerEntry
from hub.liabilities.models import LiabilityLeaf, LiabilityRoot
from hub.threads.models import ThreadRecord

# Ledger accounts that are owed to someone (named in hub/ledger/accounts.py): custodial balances,
# open links, settlements being paid out.
LEDGER_LIABILITY_PREFIXES = (ledger_accounts.custodial(""), ledger_accounts.link(""), ledger_accounts.settlement(""))
# The user side of a channel (accounts.channel): its balance and what a pending withdrawal still
# owes the user.
_CHANNEL_USER_ACCOUNT = re.compile(
    "^" + re.escape(ledger_accounts.channel(0, "")).replace("0", r"(\d+)", 1)
    + r"(balance|pending_withdrawal)_(wei|token)_user$")
CHANNEL_USER_REGEX = _CHANNEL_USER_ACCOUNT.pattern


def channel_leaf_account(user: str) -> str:
    return f"channel:{user.lower()}"


def liabilities_now() -> tuple[dict[tuple[str, str], int], int]:
    """What the hub owes per (account, asset): the ledger's liability accounts, the user side of
    every channel and each user's share of its open threads (keyed `channel:<user>`), and the
    number of ledger rows read. Zero balances are left out; negative ones are kept (the caller
    refuses to commit to them). Call it inside a REPEATABLE READ transaction for one snapshot."""
    prefixes = Q()
    for prefix in LEDGER_LIABILITY_PREFIXES:
        prefixes |= Q(account__startswith=prefix)
    rows = list(LedgerEntry.objects.filter(prefixes | Q(account__regex=CHANNEL_USER_REGEX))
                .values("account", "asset").annotate(total=Sum("amount")).order_by())
    channel_ids = {int(m.group(1)) for r in rows if (m := _CHANNEL_USER_ACCOUNT.match(r["account"]))}
    users = dict(Channel.objects.filter(pk__in=channel_ids).values_list("pk", "user"))
    owed: dict[tuple[str, str], int] = {}
    for r in rows:
        account = r["account"]
        match = _CHANNEL_USER_ACCOUNT.match(account)
        if match:
            account = channel_leaf_account(users[int(match.group(1))])
        key = (account, r["asset"])
        owed[key] = owed.get(key, 0) + int(r["total"] or 0)
    for account, asset, amount in _thread_shares():
        key = (account, asset)
        owed[key] = owed.get(key, 0) + amount
    return {k: v for k, v in owed.items() if v != 0}, len(rows)


def _thread_shares() -> list[tuple[str, str, int]]:
    """Value in open threads left both channels' user balances: by the latest sender-signed
    state, the sender is owed its side and the receiver its side (paid into its channel when the
    thread closes). A side already settled on chain is no longer the hub's to owe."""
    out = []
    threads = (ThreadRecord.objects.filter(status__in=[ThreadRecord.Status.OPEN,
                                                       ThreadRecord.Status.DISPUTE])
               .select_related("latest"))
    for thread in threads:
        state = thread.latest
        if state is not None:
            sender = {"wei": state.balance_wei_sender, "token": state.balance_token_sender}
            receiver = {"wei": state.balance_wei_receiver, "token": state.balance_token_receiver}
        else:
            sender = {"wei": thread.initial_wei, "token": thread.initial_token}
            receiver = {"wei": 0, "token": 0}
        for user, share, settled in ((thread.sender, sender, thread.sender_settled_on_chain),
                                     (thread.receiver, receiver, thread.receiver_settled_on_chain)):
            if not settled:
                out += [(channel_leaf_account(user), asset, int(v)) for asset, v in share.items() if v]
    return out


def root_latest() -> LiabilityRoot | None:
    return LiabilityRoot.objects.select_related("anchor").order_by("-sequence").first()


def _ratio(assets: int, owed: int) -> str | None:
    if owed == 0:
        return None  # nothing owed: any reserve covers it
    return str((Decimal(assets) / Decimal(owed)).quantize(Decimal("0.0001"), rounding=ROUND_DOWN))


def reserves_of(root: LiabilityRoot) -> dict[str, dict[str, Any]]:
    """Per asset: the chain's assets, the committed liabilities and their ratio (a decimal string
    rounded down; null when nothing is owed). Empty when the chain could not be read."""
    if not root.reserves:
        return {}
    out = {}
    for asset in ASSETS:
        held = root.reserves.get(asset, {})
        contract, account = int(held.get("contract", 0)), int(held.get("hubAccount", 0))
        owed = int(root.roots[asset]["total"])
        out[asset] = {"contract": str(contract), "hubAccount": str(account),
                      "total": str(contract + account), "liabilities": str(owed),
                      "ratio": _ratio(contract + account, owed),
                      "covered": contract + account >= owed}
    return out


def reserve_shortfalls(root: LiabilityRoot | None) -> list[str]:
    """The assets whose on-chain reserves are below the committed liabilities (the banner)."""
    if root is None:
        return []
    return [asset for asset, r in reserves_of(root).items() if not r["covered"]]


def root_json(root: LiabilityRoot) -> dict[str, Any]:
    """The published form: exactly the fields `hub.core.liabilities.root_commitment` reads, the
    commitment and signature, then the reserves (not signed: they are the chain's, checkable by
    anyone at `reservesBlock`)."""
    anchor = root.anchor
    return {
        "sequence": root.sequence,
        "issuedAt": int(root.issued_at.timestamp()),
        "hub": root.hub_address,
        "assets": root.roots,
        "commitment": root.commitment,
        "signature": root.signature,
        "signatureScheme": "EIP-191 personal_sign over the 32-byte commitment",
        "reserves": reserves_of(root),
        "reservesBlock": root.reserves_block,
        "reservesError": root.reserves_error or None,
        "reservesCovered": not reserve_shortfalls(root) if root.reserves else None,
        "anchor": None if anchor is None else {
            "state": anchor.state, "txHash": anchor.tx_hash or None,
            "blockNumber": anchor.block_number},
    }


@lru_cache(maxsize=4)  # the latest root's two trees and the previous one's (~30 MB per 100k leaves)
def _tree(root_id: int, asset: str) -> Tree:
    nodes = (LiabilityLeaf.objects.filter(root_id=root_id, asset=asset).order_by("position")
             .values_list("leaf_hash", "amount"))
    return tree_from_nodes(asset, [(bytes(h), int(a)) for h, a in nodes.iterator(chunk_size=5000)])


def proofs_for(root: LiabilityRoot, accounts: list[str]) -> list[dict[str, Any]]:
    """The inclusion proofs of these accounts' leaves in `root` (one per asset they hold). An
    account with nothing owed has no leaf and gets no proof."""
    out = []
    leaves = LiabilityLeaf.objects.filter(root=root, account__in=accounts).order_by("account", "asset")
    for row in leaves:
        leaf = Leaf(row.account, bytes(row.salt), row.asset, int(row.amount), bytes(row.leaf_hash))
        out.append(proof_json(tree=_tree(root.pk, row.asset), index=row.position, leaf=leaf,
                              sequence=root.sequence))
    return out


def proof_document(root: LiabilityRoot, accounts: list[str]) -> dict[str, Any]:
    """What a holder downloads: the signed root and its own proofs, enough to verify offline
    (`spoke_client.verify_liability_proof(proof, root, hub_address)` for each proof)."""
    return {"root": root_json(root), "accounts": accounts, "proofs": proofs_for(root, accounts)}
