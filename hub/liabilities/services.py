"""Publishing proof-of-liabilities roots (periodically and on an operator's demand) and checking
the reserves behind them."""

from __future__ import annotations

import logging
import secrets
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from hub.chain.outbox import transaction_enqueue
from hub.chain.reserves import chain_assets
from hub.chain.signer import hub_address, hub_state_signer
from hub.core.liabilities import (
    ASSETS,
    AssetRoot,
    build_tree,
    commitment,
    make_leaf,
)
from hub.liabilities.models import LiabilityLeaf, LiabilityRoot
from hub.liabilities.selectors import liabilities_now, reserve_shortfalls, reserves_of
from ops.services import alarm_raise

logger = logging.getLogger(__name__)

_LOCK_KEY = 0x5F0C_0021  # pg advisory lock: one publish at a time
ANCHOR_PREFIX = b"spoke-liabilities-v1"


def _read_reserves() -> tuple[dict[str, Any], int | None, str]:
    try:
        block, assets = chain_assets()
    except Exception as exc:  # the node is down or misconfigured: publish without reserves
        logger.warning("proof of reserves: the chain could not be read: %s", exc)
        return {}, None, f"the chain could not be read ({type(exc).__name__})"
    return ({a: {k: str(v) for k, v in held.items()} for a, held in assets.items()},
            block, "")


def liabilities_publish(*, trigger: str = LiabilityRoot.Trigger.SCHEDULE,
                        requested_by: str = "") -> LiabilityRoot:
    """Commit to everything the hub owes now: one Merkle sum tree per asset over fresh-salted
    leaves, the commitment signed with the hub key (EIP-191), the leaves stored for proofs, the
    chain's reserves beside it; optionally anchored on chain through the outbox. Raises the
    reserve alarm for any asset whose reserves are below the liabilities. Serialised by an
    advisory lock: sequence numbers are gapless and increasing."""
    reserves, block, error = _read_reserves()
    nested = connection.in_atomic_block
    with connection.cursor() as cursor:  # one publisher at a time, taken before the snapshot
        cursor.execute("SELECT pg_advisory_lock(%s)", [_LOCK_KEY])
    try:
        root, roots = _publish_locked(reserves=reserves, block=block, error=error, trigger=trigger,
                                      requested_by=requested_by, nested=nested)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_LOCK_KEY])
    reserves_alarm(root)
    logger.info("liabilities root #%s published: %s", root.sequence,
                {a: r.total for a, r in roots.items()})
    return root


def _publish_locked(*, reserves: dict[str, Any], block: int | None, error: str, trigger: str,
                    requested_by: str, nested: bool) -> tuple[LiabilityRoot, dict[str, AssetRoot]]:
    with transaction.atomic():
        if not nested:  # one snapshot for the ledger, the channels and the threads
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        owed, _rows = liabilities_now()
        leaves: dict[str, list] = {asset: [] for asset in ASSETS}
        for (account, asset), amount in sorted(owed.items()):
            if amount < 0:
                alarm_raise(kind="negative_liability", key=f"{account}:{asset}", severity="critical",
                            message=f"ledger account {account} holds {amount} {asset}: not committed")
                continue
            leaves[asset].append(make_leaf(account=account, salt=secrets.token_bytes(32),
                                           asset=asset, amount=amount))
        trees = {asset: build_tree(asset, leaves[asset]) for asset in ASSETS}
        last = LiabilityRoot.objects.order_by("-sequence").values_list("sequence", flat=True).first()
        sequence = (last or 0) + 1
        issued_at = timezone.now().replace(microsecond=0)
        hub = hub_address()
        roots = {a: AssetRoot(t.root, t.total, t.size) for a, t in trees.items()}
        digest = commitment(sequence=sequence, issued_at=int(issued_at.timestamp()), hub=hub,
                            roots=roots)
        root = LiabilityRoot.objects.create(
            sequence=sequence, issued_at=issued_at, hub_address=hub,
            roots={a: {"root": "0x" + r.root.hex(), "total": str(r.total), "leaves": r.leaves}
                   for a, r in roots.items()},
            commitment="0x" + digest.hex(), signature=hub_state_signer().sign_hash("0x" + digest.hex()),
            reserves=reserves, reserves_block=block, reserves_error=error,
            trigger=trigger, requested_by=requested_by[:150])
        rows = []
        for asset, tree in trees.items():
            position = {h: i for i, (h, _s) in enumerate(tree.levels[0])}
            rows += [(asset, position[leaf.hash], leaf.account, str(leaf.amount), leaf.salt, leaf.hash)
                     for leaf in leaves[asset]]
        _insert_leaves(root.pk, rows)
        if settings.LIABILITIES_ANCHOR:
            root.anchor = _anchor(root, digest)
            root.save(update_fields=["anchor"])
    return root, roots


def _insert_leaves(root_id: int, rows: list[tuple[str, int, str, str, bytes, bytes]]) -> None:
    """The leaves in a few INSERTs from arrays (the ORM's bulk_create costs ten times more at
    100 000 accounts)."""
    table = connection.ops.quote_name(LiabilityLeaf._meta.db_table)
    sql = (f"INSERT INTO {table} (root_id, asset, position, account, amount, salt, leaf_hash) "  # noqa: S608
           "SELECT %s, a, p, c, v::numeric(78, 0), s, h FROM unnest(%s::varchar[], %s::integer[], "
           "%s::varchar[], %s::text[], %s::bytea[], %s::bytea[]) AS e(a, p, c, v, s, h)")
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 50_000):
            chunk = rows[start:start + 50_000]
            cursor.execute(sql, [root_id, *(list(column) for column in zip(*chunk, strict=True))])


def _anchor(root: LiabilityRoot, digest: bytes) -> Any:
    """A 0-value transaction from the hub to itself whose data is the commitment, through the
    outbox (idempotent per root): the root's existence at that block is then public record."""
    return transaction_enqueue(purpose="liabilities_anchor", to=root.hub_address,
                               data=ANCHOR_PREFIX + digest, gas_limit=30_000,
                               idempotency_key=f"liabilities-anchor:{root.sequence}")


def reserves_alarm(root: LiabilityRoot) -> list[str]:
    """Raise the critical `reserves_below_liabilities` alarm for each asset whose chain reserves
    are below what this root commits to; returns those assets."""
    short = reserve_shortfalls(root)
    detail = reserves_of(root)
    for asset in short:
        r = detail[asset]
        alarm_raise(kind="reserves_below_liabilities", key=asset, severity="critical",
                    message=(f"{asset}: the chain shows {r['total']} against {r['liabilities']} owed "
                             f"(ratio {r['ratio']}) at root #{root.sequence}"),
                    detail={"sequence": str(root.sequence), **{k: str(v) for k, v in r.items()}})
    return short

