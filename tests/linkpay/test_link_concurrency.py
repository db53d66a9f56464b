"""Races: many redeemers of one link, and the expiry sweep running twice at once."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from eth_account import Account

from hub.channels.models import ChannelUpdate
from hub.channels.reconciliation import reconcile_channels
from hub.ledger.models import LedgerEntry
from hub.ledger.services import account_balance
from linkpay.errors import LinkError
from linkpay.models import Link
from linkpay.selectors import link_held_total, link_open_total
from linkpay.services import link_redeem, link_redemptions_complete, links_expire_due
from payments.events.models import Event
from tests.chain_env import TOKEN, ChainEnv
from tests.hub.api.test_channel_flows import confirm_from_chain, now_of, run_hub_transactions
from tests.hub.api.user_sim import UserSim
from tests.linkpay.helpers import buy_link
from tests.purchases.helpers import accept_hub_updates, funded_user

pytestmark = [pytest.mark.chain, pytest.mark.django_db(transaction=True)]

WORKERS = 20  # concurrent database connections (the server allows 100, shared with other test runs)


def race(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run every call on WORKERS threads released together; each result or exception."""
    gate = threading.Barrier(min(WORKERS, len(calls)))

    def run(call: Callable[[], Any]) -> Any:
        try:
            try:
                gate.wait(timeout=30)
            except threading.BrokenBarrierError:
                pass
            return call()
        except Exception as exc:
            return exc
        finally:
            connection.close()

    with ThreadPoolExecutor(WORKERS) as pool:
        return list(pool.map(run, calls))


def test_of_a_hundred_concurrent_redemptions_exactly_one_wins_and_the_ledger_balances(
        hub_chain: ChainEnv) -> None:
    alice = funded_user(hub_chain, tokens=10 * TOKEN)
    secret, link = buy_link(alice, token=3 * TOKEN)
    redeemers = [Account.create() for _ in range(100)]
    results = race([lambda a=a: link_redeem(secret=secret, redeemer=a.address) for a in redeemers])
    wins = [r for r in results if not isinstance(r, Exception)]
    losses = Counter(r.code for r in results if isinstance(r, LinkError))
    assert len(wins) == 1 and losses == {"link_redeemed": 99}, results
    link.refresh_from_db()
    winner = next(a for a in redeemers if a.address.lower() == link.redeemer)
    assert link.status == "redeeming" and wins[0].pending
    assert account_balance(link.ledger_account, "token") == 3 * TOKEN
    assert link_held_total("token") == link_open_total("token") == 3 * TOKEN

    # the winner's wallet countersigns the collateral the redemption asked for; then it is paid
    sim = UserSim(winner, hub_chain.deployment.channel_manager)
    sim.login()
    items = sim.get(f"channel/{sim.address}/sync?lastChanTx=0").json()["updates"]
    assert items[-1]["update"]["reason"] == "ProposePendingDeposit"
    request = sim.accept(items[-1], now=now_of(hub_chain))
    request["txCount"] = sim.latest.tx_count_global
    assert sim.post(f"channel/{sim.address}/update", {"updates": [request]}).status_code == 200
    run_hub_transactions()
    confirm_from_chain(hub_chain, sim)
    assert link_redemptions_complete() == 1
    assert accept_hub_updates(hub_chain, sim) == ["Payment"]
    assert sim.latest.balance_token_user == 3 * TOKEN
    assert link_held_total("token") == link_open_total("token") == 0
    assert ChannelUpdate.objects.filter(reason="Payment", args__recipient="user").count() == 1
    assert Event.objects.filter(type="link.redeemed").count() == 1
    assert reconcile_channels().ok
    # every posting balances per asset
    for posting in LedgerEntry.objects.values_list("posting", flat=True).distinct():
        rows = LedgerEntry.objects.filter(posting=posting)
        for asset in ("wei", "token"):
            assert sum(r.amount for r in rows if r.asset == asset) == 0


def test_an_expired_link_returns_to_its_sender_once_when_the_sweep_runs_twice_at_once(
        hub_chain: ChainEnv) -> None:
    alice = funded_user(hub_chain, tokens=10 * TOKEN)
    _, link = buy_link(alice, token=3 * TOKEN)
    assert alice.latest.balance_token_user == 7 * TOKEN
    Link.objects.filter(pk=link.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    results = race([links_expire_due, links_expire_due])
    assert sorted(results) == [0, 1], results
    assert links_expire_due() == 0
    link.refresh_from_db()
    assert (link.status, link.returned_to) == ("expired", "channel")
    assert accept_hub_updates(hub_chain, alice) == ["Payment"]
    assert alice.latest.balance_token_user == 10 * TOKEN
    assert account_balance(link.ledger_account, "token") == 0
    assert Event.objects.filter(type="link.expired").count() == 1
    assert reconcile_channels().ok
