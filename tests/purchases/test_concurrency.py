"""Money is conserved under concurrency, on PostgreSQL: no lost or duplicated payment, no negative
balance, no txCount gap or duplicate, and the ledger equals the channel states afterwards."""

from __future__ import annotations

import os
import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.test import Client

from hub.channels.models import ChannelUpdate
from hub.channels.reconciliation import reconcile_channels
from hub.core import ChannelState, PaymentArgs, apply_update
from hub.custodial.services import custodial_account
from hub.ledger.models import LedgerEntry
from hub.purchases.models import Payment, Purchase
from tests.chain_env import TOKEN, ChainEnv
from tests.hub.api.user_sim import UserSim
from tests.purchases.helpers import collateralize, funded_user

pytestmark = [pytest.mark.chain, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SOAK_SECONDS = float(os.environ.get("SPOKE_SOAK_SECONDS", "60"))


def hub_state(sim: UserSim, client: Client) -> ChannelState:
    response = client.get(f"/api/hub/channel/{sim.address}", headers=sim.headers)
    assert response.status_code == 200, response.content
    return ChannelState.from_json(response.json()["state"])


def try_pay(sim: UserSim, client: Client, recipient: str, amount: int, ptype: str) -> tuple[str, str]:
    """Pay once, re-signing on the hub's latest state after a txCount race. (outcome, detail).
    Every attempt reaches the hub: "insufficient" is the hub's answer, never our own guess.

    A payer that many others pay (its channel moves with every payment it receives) can lose the
    race many times in a row; like a real client it backs off a little and tries again."""
    for attempt in range(500):
        if attempt:
            time.sleep(random.random() * min(0.05, 0.002 * attempt))
        prev = hub_state(sim, client)
        args = PaymentArgs(recipient="hub", amount_wei=0, amount_token=amount)
        if prev.balance_token_user >= amount:
            signed = sim.signer.sign_channel_state(apply_update(prev, "Payment", args, now=0),
                                                   as_party="user")
        else:
            # An overdraft has no valid state to sign (a balance would be negative): sign the head
            # renumbered, as a client that ignores its balance would. The hub refuses on the amount.
            signed = sim.signer.sign_channel_state(
                prev.replace(tx_count_global=prev.tx_count_global + 1, sig_hub=None), as_party="user")
        body = {"meta": {}, "payments": [{
            "recipient": recipient, "type": ptype, "meta": {},
            "amount": {"amountWei": "0", "amountToken": str(amount)},
            "update": {"reason": "Payment", "args": args.to_json(), "txCount": signed.tx_count_global,
                       "sigUser": signed.sig_user}}]}
        response = client.post("/api/hub/payments/purchase", data=body, content_type="application/json",
                               headers=sim.headers)
        if response.status_code == 200:
            return "paid", response.json()["purchaseId"]
        code = response.json().get("code")
        if code in ("tx_count_global", "state_mismatch"):
            continue  # another request moved the channel first: re-sign on the new state
        if code == "insufficient_balance":
            return "insufficient", ""
        return "error", f"{response.status_code} {code}"
    return "error", "too many races"


def assert_channels_sound() -> None:
    for channel_id in ChannelUpdate.objects.values_list("channel_id", flat=True).distinct():
        counts = list(ChannelUpdate.objects.filter(channel_id=channel_id, invalid__isnull=True)
                      .order_by("tx_count_global").values_list("tx_count_global", flat=True))
        assert counts == list(range(1, len(counts) + 1)), f"txCount gap or duplicate: {counts}"
    fields = ["balance_wei_hub", "balance_wei_user", "balance_token_hub", "balance_token_user"]
    for field in fields:
        assert not ChannelUpdate.objects.filter(**{f"{field}__lt": 0}).exists()


@pytest.mark.parametrize("k", [0, 1, 37])
def test_a_hundred_concurrent_payments_from_a_channel_funded_for_k_succeed_k_times(
        hub_chain: ChainEnv, k: int) -> None:
    amount = TOKEN
    payer = funded_user(hub_chain, tokens=k * amount + amount // 2 if k else amount // 2)
    shop = "0x" + "5e" * 20

    def attempt(_: int) -> tuple[str, str]:
        try:
            return try_pay(payer, Client(), shop, amount, "PT_CUSTODIAL")
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(attempt, range(100)))
    counted = Counter(outcome for outcome, _ in outcomes)
    assert counted["paid"] == k, counted
    assert counted["insufficient"] == 100 - k, counted  # each one refused by the hub
    assert counted["error"] == 0, [d for o, d in outcomes if o == "error"]
    assert Payment.objects.count() == k == len({d for o, d in outcomes if o == "paid"})
    from hub.ledger.services import account_balance

    assert account_balance(custodial_account(shop), "token") == k * amount
    assert_channels_sound()
    assert reconcile_channels(check_chain=False).ok


def test_money_is_conserved_with_32_concurrent_payers(hub_chain: ChainEnv) -> None:
    env = hub_chain
    users = [funded_user(env, tokens=50 * TOKEN) for _ in range(32)]
    for user in users[:8]:  # one at a time: concurrent pollers would race each other's dispatch
        collateralize(env, user)
    receivers = [u.address for u in users[:8]]  # these have hub collateral for PT_CHANNEL
    shops = ["0x" + f"{i:02x}" * 20 for i in range(1, 5)]  # custodial recipients
    value_before = total_value()
    paid: list[str] = []
    errors: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + SOAK_SECONDS

    def payer_loop(index: int) -> None:
        rng = random.Random(index)
        client = Client()
        sim = users[index]
        try:
            while time.monotonic() < deadline:
                if rng.random() < 0.5:
                    recipient, ptype = rng.choice(receivers), "PT_CHANNEL"
                else:
                    recipient, ptype = rng.choice(shops), "PT_CUSTODIAL"
                if recipient == sim.address:
                    continue
                outcome, detail = try_pay(sim, client, recipient, rng.randint(1, 10**17), ptype)
                with lock:
                    if outcome == "paid":
                        paid.append(detail)
                    elif outcome == "error" and "insufficient_collateral" not in detail:
                        errors.append(detail)
        finally:
            connection.close()

    threads = [threading.Thread(target=payer_loop, args=(i,)) for i in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:5]
    assert len(paid) > 100
    assert len(set(paid)) == len(paid) == Purchase.objects.count() == Payment.objects.count()
    assert_channels_sound()
    assert reconcile_channels(check_chain=False).ok
    assert total_value() == value_before  # nothing created or destroyed, to the base unit


def total_value() -> int:
    """Tokens the hub and users hold across all channels plus what the hub owes custodially:
    payments move value between these, never in or out."""
    from django.db.models import Sum

    from hub.channels.models import Channel

    total = 0
    for channel in Channel.objects.exclude(latest_update=None).select_related("latest_update"):
        row = channel.latest_update
        assert row is not None
        total += row.balance_token_hub + row.balance_token_user
    owed = LedgerEntry.objects.filter(account__startswith="custodial:", asset="token").aggregate(
        t=Sum("amount"))["t"]
    float_ = LedgerEntry.objects.filter(account="hub:custodial_float", asset="token").aggregate(
        t=Sum("amount"))["t"]
    assert int(owed or 0) == -int(float_ or 0)
    return total
