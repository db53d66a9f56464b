"""Liquidity you can see: merchants' "can receive instantly" figures and collateral history (API
and dashboard), the operator's liquidity page, and rebalancing from the admin — against channels
seeded through the real protocol on anvil, with the hub's real top-ups and reclaims."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from hub.chain.models import ChainTransaction
from hub.channels.models import ChannelUpdate, ProposedUpdate
from hub.collateral.liquidity import liquidity_overview, percentile
from hub.collateral.models import CollateralAssignment, CollateralProfile
from payments.apikeys.services import api_key_create
from payments.audit.models import AuditLog
from payments.merchants.services import merchant_create, receiving_address_add
from tests.chain_env import ETH, TOKEN, ChainEnv
from tests.dashboard.helpers import make_user, sign_in
from tests.hub.api.test_channel_flows import (
    confirm_from_chain,
    last_item,
    now_of,
    run_hub_transactions,
)
from tests.hub.api.user_sim import UserSim
from tests.payments.conftest import Api, random_address
from tests.purchases.helpers import collateralize, funded_user

pytestmark = [pytest.mark.chain, pytest.mark.django_db(transaction=True)]


def test_percentiles_are_nearest_rank() -> None:
    values = list(range(1, 101))
    assert [percentile(values, p) for p in (50, 90, 99)] == [50, 90, 99]
    assert percentile([7], 99) == 7 and percentile([], 50) is None
    assert [percentile([1, 2, 3, 10], p) for p in (50, 90)] == [2, 10]


def top_up_seconds(user: str) -> int:
    """What the records say: the hub's proposal to the ConfirmPending that put the deposit in."""
    proposal = ProposedUpdate.objects.get(channel__user=user, reason="ProposePendingDeposit")
    confirm = ChannelUpdate.objects.get(channel__user=user, reason="ConfirmPending",
                                        tx_count_global__gt=proposal.accepted_update.tx_count_global)
    return int((confirm.created_at - proposal.created_at).total_seconds())


def countersign_proposal(env: ChainEnv, sim: UserSim, reason: str) -> ChannelUpdate:
    """The user's next sync: countersign the hub's open proposal and post it back."""
    item = last_item(sim.get(f"channel/{sim.address}/sync?lastChanTx={sim.latest.tx_count_global}"))
    assert item["update"]["reason"] == reason and item["update"]["txCount"] is None, item
    request = sim.accept(item, now=now_of(env))
    request["txCount"] = sim.latest.tx_count_global
    response = sim.post(f"channel/{sim.address}/update", {"updates": [request]})
    assert response.status_code == 200, response.content
    return ChannelUpdate.objects.get(channel__user=sim.address, tx_count_global=sim.latest.tx_count_global,
                                     invalid__isnull=True)


def test_a_merchant_sees_what_it_can_receive_instantly_and_the_hubs_top_ups(hub_chain: ChainEnv) -> None:
    sim = funded_user(hub_chain, wei=ETH // 10)
    collateralize(hub_chain, sim)  # the hub tops the channel up to the policy floor: 10 tokens
    custodial = random_address()
    no_channel_yet = random_address()
    owner = make_user("liquidity-owner")
    merchant = merchant_create(name="Channel shop", owner=owner, addresses=[custodial])
    receiving_address_add(merchant_id=merchant.pk, address=sim.address, mode="channel")
    receiving_address_add(merchant_id=merchant.pk, address=no_channel_yet, mode="channel")
    key = api_key_create(merchant_id=merchant.pk, kind="secret", name="t").plaintext

    body = Api(key).get("/api/v1/liquidity").json()
    assert body["object"] == "liquidity" and body["custodial_unlimited"] is True
    token = next(a for a in body["assets"] if a["asset"] == "token")
    assert token == {"asset": "token", "instant_channel": str(10 * TOKEN),
                     "largest_instant_channel_payment": str(10 * TOKEN), "in_flight": "0"}
    by_address = {a["address"]: a for a in body["addresses"]}
    assert by_address[custodial]["unlimited"] is True and by_address[custodial]["instant"] is None
    assert by_address[sim.address]["instant"] == {"wei": "0", "token": str(10 * TOKEN)}
    assert by_address[sim.address]["channel_status"] == "open"
    assert by_address[no_channel_yet]["channel_status"] is None
    assert by_address[no_channel_yet]["instant"] == {"wei": "0", "token": "0"}
    seconds = top_up_seconds(sim.address)
    ttc = body["time_to_collateral"]
    assert (ttc["top_ups"], ttc["confirmed"]) == (1, 1)
    assert ttc["seconds"] == {"p50": seconds, "p90": seconds, "p99": seconds}
    [top_up] = body["recent_top_ups"]
    assert (top_up["address"], top_up["asset"], top_up["amount"], top_up["state"], top_up["seconds"]) == (
        sim.address, "token", str(10 * TOKEN), "confirmed", seconds)

    # another merchant's key sees only its own (nothing here)
    other = merchant_create(name="Other shop", addresses=[random_address()])
    other_body = Api(api_key_create(merchant_id=other.pk, kind="secret", name="t").plaintext).get(
        "/api/v1/liquidity").json()
    assert other_body["recent_top_ups"] == [] and other_body["time_to_collateral"]["top_ups"] == 0
    assert all(a["instant_channel"] == "0" for a in other_body["assets"])
    assert Api(None).get("/api/v1/liquidity").status_code == 401
    read_only = api_key_create(merchant_id=merchant.pk, kind="read_only", name="ro").plaintext
    assert Api(read_only).get("/api/v1/liquidity").json()["assets"] == body["assets"]
    no_balance = api_key_create(merchant_id=merchant.pk, kind="restricted", name="r",
                                permissions={"payments": "read"}).plaintext
    assert Api(no_balance).get("/api/v1/liquidity").status_code == 403

    client = Client()
    sign_in(client, owner)
    page = client.get("/dashboard/liquidity/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f'data-amount="{10 * TOKEN}"' in html and 'id="custodial-instant"' in html
    assert 'href="/dashboard/liquidity/"' in html  # the nav link
    assert f'id="ttc-p50">{seconds} s<' in html


def operator_client(*, superuser: bool = True) -> Client:
    users = get_user_model().objects
    user = (users.create_superuser("liq-operator", "op@example.com", "pw-long-enough-1") if superuser
            else users.create_user("liq-staff", "staff@example.com", "pw-long-enough-1", is_staff=True))
    client = Client()
    client.force_login(user)
    return client


def test_the_operator_sees_locked_idle_needed_and_reclaim_candidates(hub_chain: ChainEnv, settings: Any) -> None:
    first, second = funded_user(hub_chain, wei=ETH // 10), funded_user(hub_chain, wei=ETH // 10)
    collateralize(hub_chain, first)
    collateralize(hub_chain, second)
    wanting = funded_user(hub_chain, wei=ETH // 10)
    profile = CollateralProfile.objects.create(name="busy shop", minimum_maintained_token=50 * TOKEN,
                                               amount_to_collateralize_token=120 * TOKEN)
    CollateralAssignment.objects.create(user=wanting.address, profile=profile)

    view = liquidity_overview()
    totals = view["totals"]
    assert totals["channels"] == 3
    assert totals["locked"] == {"wei": 0, "token": 20 * TOKEN}
    assert totals["idle"]["token"] == 0  # every channel moved just now
    assert totals["needed"] == {"wei": 0, "token": 120 * TOKEN, "channels": 1}
    assert [r.user for r in view["needing"]] == [wanting.address]
    assert view["reclaim_candidates"] == []
    assert view["time_to_collateral"]["confirmed"] == 2
    durations = sorted([top_up_seconds(first.address), top_up_seconds(second.address)])
    assert view["time_to_collateral"]["seconds"]["p50"] == durations[0]
    assert view["time_to_collateral"]["seconds"]["p99"] == durations[1]

    settings.COLLATERAL_IDLE_RECLAIM_SECONDS = 0
    view = liquidity_overview()
    assert view["totals"]["idle"]["token"] == 20 * TOKEN and view["totals"]["idle"]["channels"] == 3
    assert {r.user for r in view["reclaim_candidates"]} == {first.address, second.address}

    page = operator_client().get("/admin/liquidity/").content.decode()
    assert 'data-total="locked-token">20 SPD<' in page
    assert 'data-total="needed-token">120 SPD<' in page
    assert first.address in page and "Reclaim" in page


def test_an_operator_reclaim_is_audited_and_executes_through_the_outbox(hub_chain: ChainEnv) -> None:
    sim = funded_user(hub_chain, wei=ETH // 10)
    collateralize(hub_chain, sim)
    operator = operator_client()
    response = operator.post("/admin/liquidity/rebalance/", {"action": "reclaim", "user": sim.address})
    assert response.status_code == 302 and response["Location"] == "/admin/liquidity/"
    proposal = ProposedUpdate.objects.get(channel__user=sim.address, status="open")
    assert proposal.reason == "ProposePendingWithdrawal"
    row = AuditLog.objects.get(action="admin.collateral.reclaim")
    assert (row.surface, row.actor_label, row.target) == ("admin", "liq-operator", f"channel:{sim.address}")
    assert row.detail == {"user": sim.address, "outcome": "proposed", "amount_wei": "0",
                          "amount_token": str(10 * TOKEN), "proposal": proposal.pk}
    assert not AuditLog.objects.filter(action="admin.post").exists()  # one row, not two
    assert not ChainTransaction.objects.filter(state="new").exists()  # nothing on chain before the user signs

    update = countersign_proposal(hub_chain, sim, "ProposePendingWithdrawal")
    assert update.pending_withdrawal_token_hub == 10 * TOKEN and update.balance_token_hub == 0
    tx = ChainTransaction.objects.get(pk=update.chain_transaction_id)
    assert (tx.purpose, tx.to, tx.state) == ("hub_authorized_update", hub_chain.deployment.channel_manager.lower(),
                                             "new")
    run_hub_transactions()
    tx.refresh_from_db()
    assert tx.state == "confirmed", tx.failure_reason
    confirm_from_chain(hub_chain, sim)
    assert sim.latest.balance_token_hub == 0 and sim.latest.pending_withdrawal_token_hub == 0

    # a second reclaim finds nothing to take back, and says so in the audit log too
    operator.post("/admin/liquidity/rebalance/", {"action": "reclaim", "user": sim.address})
    second = AuditLog.objects.filter(action="admin.collateral.reclaim").order_by("-id").first()
    assert second is not None and second.detail["outcome"] == "nothing_to_reclaim"


def test_an_operator_top_up_is_audited_and_deposits_through_the_outbox(hub_chain: ChainEnv) -> None:
    sim = funded_user(hub_chain, wei=ETH // 10)
    operator = operator_client()
    response = operator.post("/admin/liquidity/rebalance/", {"action": "top_up", "user": sim.address,
                                                             "target": "25"})
    assert response.status_code == 302
    proposal = ProposedUpdate.objects.get(channel__user=sim.address, status="open")
    assert proposal.reason == "ProposePendingDeposit" and proposal.args["depositTokenHub"] == str(25 * TOKEN)
    row = AuditLog.objects.get(action="admin.collateral.top_up")
    assert row.detail["outcome"] == "proposed" and row.detail["target_token"] == str(25 * TOKEN)
    assert row.detail["amount_token"] == str(25 * TOKEN) and row.detail["proposal"] == proposal.pk

    update = countersign_proposal(hub_chain, sim, "ProposePendingDeposit")
    tx = ChainTransaction.objects.get(pk=update.chain_transaction_id)
    assert (tx.purpose, tx.state) == ("hub_authorized_update", "new")
    run_hub_transactions()
    confirm_from_chain(hub_chain, sim)
    assert sim.latest.balance_token_hub == 25 * TOKEN

    # already there: refused, audited, nothing proposed
    operator.post("/admin/liquidity/rebalance/", {"action": "top_up", "user": sim.address, "target": "20"})
    assert AuditLog.objects.filter(action="admin.collateral.top_up").order_by("-id")[0].detail["outcome"] == \
        "already_enough"
    assert not ProposedUpdate.objects.filter(channel__user=sim.address, status="open").exists()


def test_rebalancing_is_refused_to_non_operators_and_bad_input_changes_nothing(hub_chain: ChainEnv) -> None:
    sim = funded_user(hub_chain, wei=ETH // 10)
    collateralize(hub_chain, sim)
    proposals = ProposedUpdate.objects.count()
    body = {"action": "reclaim", "user": sim.address}

    staff = operator_client(superuser=False)  # staff, but not an operator
    assert staff.get("/admin/liquidity/").status_code == 200
    assert "Propose top-up" not in staff.get("/admin/liquidity/").content.decode()
    assert staff.post("/admin/liquidity/rebalance/", body).status_code == 403

    merchant_user = make_user("liq-merchant")
    merchant_client = Client()
    merchant_client.force_login(merchant_user)
    response = merchant_client.post("/admin/liquidity/rebalance/", body)
    assert response.status_code in (302, 403)
    assert "/admin/login/" in response.get("Location", "/admin/login/")
    assert Client().post("/admin/liquidity/rebalance/", body).status_code == 302  # signed out: to sign-in

    operator = operator_client()
    for bad in ({"action": "drain", "user": sim.address}, {"action": "reclaim", "user": "0x123"},
                {"action": "top_up", "user": sim.address, "target": "-5"},
                {"action": "top_up", "user": sim.address, "target": "1e99999"},
                {"action": "top_up", "user": sim.address}):
        assert operator.post("/admin/liquidity/rebalance/", bad).status_code == 400, bad
    assert ProposedUpdate.objects.count() == proposals
    assert not AuditLog.objects.filter(action__startswith="admin.collateral.").exists()
