"""Proof of liabilities built from a real ledger: channels funded through the protocol on anvil,
custodial balances, a link hold and a settlement in flight. Every leaf's proof verifies, the
totals equal the ledger and agree with the reconciliation pass, tampering fails, the reserves
come from the chain, and a shortfall raises the alarm and the banner."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from django.core.management import call_command
from django.db import transaction
from django.db.models import Sum
from django.test import Client

from hub.chain.models import ChainTransaction
from hub.channels.models import Channel
from hub.channels.reconciliation import reconcile_channels
from hub.core.liabilities import ProofInvalid, verify_liability_proof
from hub.ledger.models import LedgerEntry
from hub.ledger.services import channel_ledger_state, post
from hub.liabilities.models import LiabilityLeaf, LiabilityRoot
from hub.liabilities.selectors import (
    LEDGER_LIABILITY_PREFIXES,
    proof_document,
    proofs_for,
    root_json,
    root_latest,
)
from hub.liabilities.services import liabilities_publish
from ops.models import Alarm
from tests.chain_env import ETH, TOKEN, ChainEnv
from tests.hub.api.test_channel_flows import set_rate, user_deposit
from tests.hub.api.user_sim import UserSim

pytestmark = [pytest.mark.chain, pytest.mark.django_db(transaction=True)]

CUSTODIAL = {"custodial:0x" + "a1" * 20: {"wei": 3 * 10**15, "token": 7 * 10**18},
             "custodial:0x" + "b2" * 20: {"token": 10**18}}


def _credit(account: str, asset: str, amount: int, against: str = "test:funding") -> None:
    with transaction.atomic():
        post([(account, asset, amount), (against, asset, -amount)], memo="test seed")


@pytest.fixture
def seeded(hub_chain: ChainEnv) -> dict[str, Any]:
    set_rate("200")
    sims = []
    for wei, tokens in ((ETH // 10, 0), (0, 5 * TOKEN), (ETH // 20, 2 * TOKEN)):
        sim = UserSim(hub_chain.new_user(eth=ETH, tokens=tokens),
                      hub_chain.deployment.channel_manager)
        sim.login()
        user_deposit(hub_chain, sim, wei=wei, tokens=tokens)
        sims.append(sim)
    for account, per_asset in CUSTODIAL.items():
        for asset, amount in per_asset.items():
            _credit(account, asset, amount, against="hub:custodial_float")
    _credit("link:lnk_" + "0" * 24, "token", 3 * 10**17, against="hub:link_float")
    _credit("settlement:stl_test", "wei", 10**14, against="custodial:0x" + "a1" * 20)
    _credit("custodial:0x" + "c3" * 20, "wei", 0)  # nothing owed: no leaf
    return {"sims": sims}


def _ledger_liabilities() -> dict[str, int]:
    """What the ledger says is owed, per asset, computed independently of the builder."""
    totals = {"wei": 0, "token": 0}
    for prefix in LEDGER_LIABILITY_PREFIXES:
        for row in (LedgerEntry.objects.filter(account__startswith=prefix)
                    .values("asset").annotate(t=Sum("amount"))):
            totals[row["asset"]] += int(row["t"])
    for channel in Channel.objects.all():
        view = channel_ledger_state(channel.pk)
        totals["wei"] += view["balance_wei_user"] + view["pending_withdrawal_wei_user"]
        totals["token"] += view["balance_token_user"] + view["pending_withdrawal_token_user"]
    return totals


def test_every_leaf_verifies_and_the_totals_match_the_ledger_and_reconciliation(
        seeded: dict[str, Any], hub_chain: ChainEnv) -> None:
    assert reconcile_channels().ok  # the channels' ledger agrees with their states and the chain
    root = liabilities_publish()
    document = root_json(root)
    hub = hub_chain.hub.address
    owed = _ledger_liabilities()
    assert {a: int(e["total"]) for a, e in document["assets"].items()} == owed
    # every stored leaf has a proof that verifies, and the proven amounts add up to the totals
    accounts = sorted(set(LiabilityLeaf.objects.filter(root=root).values_list("account", flat=True)))
    proofs = proofs_for(root, accounts)
    assert len(proofs) == LiabilityLeaf.objects.filter(root=root).count() == sum(
        e["leaves"] for e in document["assets"].values())
    proven = {"wei": 0, "token": 0}
    for proof in proofs:
        proven[proof["asset"]] += verify_liability_proof(proof, document, hub)
    assert proven == owed
    # the channel leaves equal the user side of each channel's latest signed state
    for sim in seeded["sims"]:
        state = Channel.objects.get(user=sim.address).latest_update
        mine = {p["asset"]: int(p["amount"]) for p in proofs_for(root, [f"channel:{sim.address}"])}
        assert mine.get("wei", 0) == state.balance_wei_user + state.pending_withdrawal_wei_user
        assert mine.get("token", 0) == state.balance_token_user + state.pending_withdrawal_token_user
    assert "custodial:0x" + "c3" * 20 not in accounts
    # the reserves are the chain's: the contract holds every deposit
    reserves = document["reserves"]
    assert int(reserves["wei"]["contract"]) >= ETH // 10 + ETH // 20
    assert int(reserves["token"]["contract"]) >= 7 * TOKEN
    assert document["reservesBlock"] is not None and document["reservesError"] is None
    # a second root commits to the same liabilities with fresh salts: no leaf hash repeats
    again = liabilities_publish()
    assert again.sequence == root.sequence + 1
    assert root_json(again)["assets"]["wei"]["total"] == document["assets"]["wei"]["total"]
    assert not (set(LiabilityLeaf.objects.filter(root=root).values_list("leaf_hash", flat=True))
                & set(LiabilityLeaf.objects.filter(root=again).values_list("leaf_hash", flat=True)))


def test_a_tampered_leaf_sum_or_sibling_fails(seeded: dict[str, Any]) -> None:
    root = liabilities_publish()
    document = proof_document(root, list(CUSTODIAL))
    signed, hub = document["root"], root.hub_address
    proof = next(p for p in document["proofs"] if p["asset"] == "token" and p["path"])
    assert verify_liability_proof(proof, signed, hub) == int(proof["amount"])
    tampered = []
    bigger = copy.deepcopy(proof)
    bigger["amount"] = str(int(proof["amount"]) + 1)
    bigger.pop("leafHash")
    tampered.append((bigger, signed))
    sibling = copy.deepcopy(proof)
    sibling["path"][0]["hash"] = "0x" + "cd" * 32
    tampered.append((sibling, signed))
    moved = copy.deepcopy(proof)  # move value between the leaf and its sibling: same parent total
    moved["path"][0]["sum"] = str(int(moved["path"][0]["sum"]) + 1)
    moved["amount"] = str(int(moved["amount"]) - 1)
    moved.pop("leafHash")
    tampered.append((moved, signed))
    negative = copy.deepcopy(proof)
    negative["path"][0]["sum"] = "-1"
    tampered.append((negative, signed))
    total = copy.deepcopy(signed)
    total["assets"]["token"]["total"] = str(int(total["assets"]["token"]["total"]) - 1)
    tampered.append((proof, total))
    stale = copy.deepcopy(proof)
    stale["sequence"] = root.sequence + 1
    tampered.append((stale, signed))
    for bad_proof, bad_root in tampered:
        with pytest.raises(ProofInvalid):
            verify_liability_proof(bad_proof, bad_root, hub)
    with pytest.raises(ProofInvalid) as err:
        verify_liability_proof(proof, signed, "0x" + "00" * 20)
    assert err.value.code == "wrong_hub"


def test_reserves_below_liabilities_raise_the_alarm_and_the_banner(hub_chain: ChainEnv) -> None:
    _credit("custodial:0x" + "d4" * 20, "wei", 10**30, against="hub:custodial_float")
    assert Client().get("/proof/").status_code == 200
    root = liabilities_publish()
    document = root_json(root)
    assert document["reserves"]["wei"]["covered"] is False
    assert document["reservesCovered"] is False
    assert document["reserves"]["wei"]["ratio"] == "0.0000"
    alarm = Alarm.objects.get(kind="reserves_below_liabilities", key="wei")
    assert alarm.severity == "critical" and f"#{root.sequence}" in alarm.message
    assert not Alarm.objects.filter(kind="reserves_below_liabilities", key="token").exists()
    page = Client().get("/proof/").content.decode()
    assert 'id="reserve-banner"' in page and root.commitment in page
    from django.core.cache import cache

    cache.clear()  # the status report is cached for a few seconds
    status = Client().get("/status.json").json()["liabilities"]
    assert status["status"] == "published" and status["root"] == root.commitment
    assert status["reserves_covered"] is False and status["reserve_ratio"]["wei"] == "0.0000"


def test_hub_api_latest_and_the_users_own_proof(seeded: dict[str, Any], hub_chain: ChainEnv) -> None:
    sim, other = seeded["sims"][0], seeded["sims"][1]
    missing = Client().get("/api/hub/liabilities/latest")
    assert missing.status_code == 404 and missing.json()["code"] == "no_liabilities_root"
    root = liabilities_publish()
    latest = Client().get("/api/hub/liabilities/latest").json()
    assert latest["commitment"] == root.commitment and latest["sequence"] == root.sequence
    assert Client().get("/api/hub/liabilities/proof").status_code == 403  # not signed in
    sim.login()
    document = sim.get("liabilities/proof").json()
    assert {p["account"] for p in document["proofs"]} == {f"channel:{sim.address}"}
    assert not any(other.address in json.dumps(p) for p in document["proofs"])
    for proof in document["proofs"]:
        verify_liability_proof(proof, document["root"], root.hub_address)


def test_operator_publishes_on_demand_by_command_and_admin(hub_chain: ChainEnv, admin_client: Client,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    from hub import tasks

    assert tasks.liability_actors.publish_liabilities.actor_name == "publish_liabilities"  # loaded by worker/scheduler
    call_command("publish_liabilities")
    first = root_latest()
    assert first is not None and first.trigger == "operator" and "root #1" in capsys.readouterr().out
    assert admin_client.post("/admin/hub/liabilityroot/publish/", {"x": "1"}).status_code == 302
    assert LiabilityRoot.objects.count() == 1  # only the button's own form publishes
    page = admin_client.get("/admin/hub/liabilityroot/").content.decode()
    assert 'name="confirm" value="publish"' in page
    response = admin_client.post("/admin/hub/liabilityroot/publish/", {"confirm": "publish"})
    assert response.status_code == 302
    second = root_latest()
    assert second is not None and second.sequence == 2 and second.requested_by.startswith("admin:")
    assert admin_client.get("/admin/hub/liabilityroot/").status_code == 200
    assert LiabilityRoot.objects.count() == 2


def test_the_root_is_anchored_on_chain_through_the_outbox(hub_chain: ChainEnv, settings: Any) -> None:
    from tests.chain_env import submit_and_confirm

    settings.LIABILITIES_ANCHOR = True
    root = liabilities_publish()
    assert root.anchor is not None and root.anchor.purpose == "liabilities_anchor"
    submit_and_confirm(root.anchor.pk)
    tx = ChainTransaction.objects.get(pk=root.anchor.pk)
    mined = hub_chain.w3.eth.get_transaction(tx.tx_hash)
    assert bytes(mined["input"]).endswith(bytes.fromhex(root.commitment[2:]))
    assert root_json(LiabilityRoot.objects.get(pk=root.pk))["anchor"]["txHash"] == tx.tx_hash


def test_value_in_an_open_thread_is_owed_to_its_sender_and_receiver(hub_chain: ChainEnv) -> None:
    from tests.hub.threads.helpers import switch_threads, thread_user
    from tests.purchases.helpers import collateralize

    set_rate("200")
    switch_threads(True)
    alice = thread_user(hub_chain, tokens=20 * TOKEN)
    bob = thread_user(hub_chain, wei=ETH // 10)
    collateralize(hub_chain, bob.sim)
    bob.sync(hub_chain)
    assert alice.open_thread(bob.address, token=5 * TOKEN).status_code == 200
    bob.sync(hub_chain)
    for _ in range(3):
        assert alice.thread_pay(bob.address, token=TOKEN // 2)[1].status_code == 200
    assert reconcile_channels().ok
    root = liabilities_publish()
    owed = {(p["account"], p["asset"]): int(p["amount"])
            for p in proofs_for(root, [f"channel:{alice.address}", f"channel:{bob.address}"])}
    # alice: 15 tokens in her channel and 3.5 left on her side of the thread; bob: 1.5 received
    assert owed[(f"channel:{alice.address}", "token")] == 15 * TOKEN + 5 * TOKEN - 3 * (TOKEN // 2)
    assert owed[(f"channel:{bob.address}", "token")] == bob.sim.latest.balance_token_user + 3 * (TOKEN // 2)
    # the thread's value is counted once: the token total is the users' channel sides plus the
    # sender channel's thread account, as the ledger holds it
    thread_value = sum(int(r["t"]) for r in LedgerEntry.objects.filter(
        account__startswith="thread:", account__endswith=f":channel:{Channel.objects.get(user=alice.address).pk}")
        .values("asset").annotate(t=Sum("amount")) if r["asset"] == "token")
    assert thread_value == 5 * TOKEN
    assert int(root.roots["token"]["total"]) == _ledger_liabilities()["token"] + thread_value


def test_concurrent_publishes_take_consecutive_sequence_numbers(hub_chain: ChainEnv) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    _credit("custodial:0x" + "e5" * 20, "token", 10**18)

    def publish() -> int:
        try:
            return liabilities_publish().sequence
        finally:
            connection.close()

    with ThreadPoolExecutor(4) as pool:
        sequences = sorted(pool.map(lambda _: publish(), range(4)))
    assert sequences == [1, 2, 3, 4]
    assert {r.roots["token"]["total"] for r in LiabilityRoot.objects.all()} == {str(10**18)}
