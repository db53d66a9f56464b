"""A Hypothesis state machine over random sequences of purchases, refunds, custodial withdrawals
and settlements against the real database, the real hub on anvil and the merchant API. After
every step: the ledger balances (per posting and per asset), the merchant's and a plain holder's
custodial balances are what the model says, no custodial account is negative, no payment is
refunded beyond its amount, and every payer's channel holds what it paid minus what came back.

Custodial withdrawals come out of the holder's balance (an address with no channel that is no
merchant's receiving address, paid by PT_CUSTODIAL payments); a withdrawal from the shop's
receiving address is refused (its balance leaves only through settlements) and changes nothing.

Each example continues on the same database and chain (setting up funded channels costs seconds),
so the model starts from what the database holds when the example begins."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)

from hub.channels.errors import ChannelError
from hub.core import UpdateRejected
from hub.custodial.models import CustodialWithdrawal
from hub.custodial.services import custodial_account, custodial_withdraw
from hub.ledger.models import LedgerEntry
from hub.ledger.services import account_balance
from hub.purchases.models import Payment
from payments.refunds.models import Refund
from tests.chain_env import TOKEN, ChainEnv
from tests.hub.api.test_channel_flows import run_hub_transactions
from tests.hub.api.user_sim import UserSim
from tests.payments.conftest import Shop, random_address
from tests.purchases.helpers import accept_hub_updates, funded_user, pay_request

pytestmark = [pytest.mark.chain, pytest.mark.django_db(transaction=True)]

UNIT = 10**17  # the custodial withdrawal minimum; amounts are small multiples of it
DEPOSIT = 6 * TOKEN


@dataclass
class World:
    env: ChainEnv
    shop: Shop
    payers: list[UserSim]
    holder: str  # no channel, no merchant's receiving address: a plain custodial balance
    paid_in_channel: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # net, per payer


@dataclass
class PaymentSeen:
    api_id: str
    payer: int
    amount: int


def custodial(address: str) -> int:
    return account_balance(custodial_account(address), "token")


def pay_the_holder(world: World, sim: UserSim, amount: int) -> bool:
    """A PT_CUSTODIAL payment from a payer's channel to the holder; False if it cannot afford it."""
    accept_hub_updates(world.env, sim)
    if sim.latest.balance_token_user < amount:
        return False
    response = sim.post("payments/purchase", {"meta": {}, "payments": [
        pay_request(sim, world.holder, token=amount, ptype="PT_CUSTODIAL")]})
    assert response.status_code == 200, response.content
    world.paid_in_channel[sim.address] += amount
    return True


class MoneyMachine(RuleBasedStateMachine):
    world: World  # set by the test before the machine runs

    payments = Bundle("payments")

    def __init__(self) -> None:
        super().__init__()
        self.balance = custodial(self.world.shop.address)  # the model's custodial balances
        self.held = custodial(self.world.holder)
        self.refunded: dict[str, int] = defaultdict(int)

    # --- steps ----------------------------------------------------------------------------
    @rule(target=payments, payer=st.integers(0, 1), units=st.integers(1, 6))
    def purchase(self, payer: int, units: int) -> Any:
        sim, amount = self.world.payers[payer], units * UNIT
        accept_hub_updates(self.world.env, sim)  # countersign refunds paid back meanwhile
        if sim.latest.balance_token_user < amount:
            return multiple()  # the payer cannot afford it: nothing happens
        response = sim.post("payments/purchase", {"meta": {}, "payments": [
            pay_request(sim, self.world.shop.address, token=amount, ptype="PT_CUSTODIAL")]})
        assert response.status_code == 200, response.content
        self.balance += amount
        self.world.paid_in_channel[sim.address] += amount
        api_id = self.world.shop.client().get("/api/v1/payments").json()["data"][0]["id"]
        return PaymentSeen(api_id, payer, amount)

    @rule(payment=payments, units=st.one_of(st.none(), st.integers(1, 7)))
    def refund(self, payment: PaymentSeen, units: int | None) -> None:
        left = payment.amount - self.refunded[payment.api_id]
        wanted = left if units is None else units * UNIT // 2
        body: dict[str, Any] = {"payment": payment.api_id}
        if units is not None:
            body["amount"] = str(wanted)
        response = self.world.shop.client().post("/api/v1/refunds", body)
        if wanted > left or wanted == 0:
            assert response.status_code == 409, response.content
            assert response.json()["error"]["code"] == "refund_exceeds_payment"
        elif wanted > self.balance:
            assert response.status_code == 409, response.content
            assert response.json()["error"]["code"] == "balance_insufficient"
        else:
            assert response.status_code == 201, response.content
            assert (response.json()["status"], response.json()["method"]) == ("succeeded", "channel")
            self.refunded[payment.api_id] += wanted
            self.balance -= wanted
            self.world.paid_in_channel[self.world.payers[payment.payer].address] -= wanted

    @rule(payer=st.integers(0, 1), units=st.integers(1, 6))
    def pay_the_holder(self, payer: int, units: int) -> None:
        if pay_the_holder(self.world, self.world.payers[payer], units * UNIT):
            self.held += units * UNIT

    @rule(units=st.integers(1, 8))
    def withdraw(self, units: int) -> None:
        amount = units * UNIT
        try:
            with transaction.atomic():
                custodial_withdraw(user=self.world.holder, recipient=random_address(),
                                   amount_token=str(amount), payout_asset="token")
        except UpdateRejected as refused:
            assert amount > self.held and refused.code == "insufficient_balance"
            return
        assert amount <= self.held
        self.held -= amount
        run_hub_transactions()

    @rule(units=st.integers(1, 8))
    def withdraw_from_the_shop_is_refused(self, units: int) -> None:
        withdrawals, entries = CustodialWithdrawal.objects.count(), LedgerEntry.objects.count()
        with pytest.raises(ChannelError) as refused, transaction.atomic():
            custodial_withdraw(user=self.world.shop.address, recipient=random_address(),
                               amount_token=str(units * UNIT), payout_asset="token")
        assert refused.value.code == "merchant_balance_settles_only"
        assert CustodialWithdrawal.objects.count() == withdrawals
        assert LedgerEntry.objects.count() == entries  # the balance invariant checks the amount

    @rule(units=st.one_of(st.none(), st.integers(1, 8)))
    def settle(self, units: int | None) -> None:
        body: dict[str, Any] = {"asset": "token"}
        if units is not None:
            body["amount"] = str(units * UNIT)
        response = self.world.shop.client().post("/api/v1/settlements", body)
        wanted = self.balance if units is None else units * UNIT
        if wanted == 0:
            assert response.status_code == 409 and response.json()["error"]["code"] == "balance_insufficient"
        elif wanted > self.balance:
            assert response.status_code == 409, response.content
            assert response.json()["error"]["code"] == "balance_insufficient"
        else:
            assert response.status_code == 201, response.content
            assert response.json()["amount"] == str(wanted)
            self.balance -= wanted
            run_hub_transactions()

    # --- after every step ----------------------------------------------------------------
    @invariant()
    def the_ledger_balances(self) -> None:
        for row in LedgerEntry.objects.values("asset").annotate(total=Sum("amount")):
            assert row["total"] == 0, row
        unbalanced = (LedgerEntry.objects.values("posting", "asset").annotate(total=Sum("amount"))
                      .exclude(total=0))
        assert not unbalanced.exists(), list(unbalanced[:3])

    @invariant()
    def custodial_balances_are_what_the_model_says_and_never_negative(self) -> None:
        assert custodial(self.world.shop.address) == self.balance
        assert custodial(self.world.holder) == self.held
        negative = (LedgerEntry.objects.filter(account__startswith="custodial:")
                    .values("account", "asset").annotate(total=Sum("amount")).filter(total__lt=0))
        assert not negative.exists(), list(negative)

    @invariant()
    def no_payment_is_refunded_beyond_its_amount(self) -> None:
        for api_id, amount in self.refunded.items():
            stored = Refund.objects.filter(payment_id=Payment.objects.get(public_id=api_id).pk).exclude(
                state=Refund.State.FAILED).aggregate(t=Sum("amount"))["t"]
            assert int(stored or 0) == amount
        # and for every payment the database knows, against the payment itself
        for payment in Payment.objects.filter(recipient=self.world.shop.address):
            refunded = Refund.objects.filter(payment_id=payment.pk).exclude(
                state=Refund.State.FAILED).aggregate(t=Sum("amount"))["t"]
            assert int(refunded or 0) <= int(payment.amount_token)

    @invariant()
    def each_payers_channel_holds_what_it_paid_minus_refunds(self) -> None:
        from hub.channels.records import channel_find, channel_state

        for sim in self.world.payers:
            state = channel_state(channel_find(sim.address), sim.address)
            assert state.balance_token_user == DEPOSIT - self.world.paid_in_channel[sim.address]


def test_random_purchases_refunds_withdrawals_and_settlements_conserve_money(
        hub_chain: ChainEnv, make_shop: Any) -> None:
    MoneyMachine.world = world = World(
        env=hub_chain, shop=make_shop("machine shop", payout_address=random_address()),
        payers=[funded_user(hub_chain, tokens=DEPOSIT) for _ in range(2)], holder=random_address())
    for sim in world.payers:  # so that early withdrawals from the holder have something to take
        assert pay_the_holder(world, sim, 10 * UNIT)
    # No shrinking and no example database: the database and the chain carry on from example to
    # example, so a replayed example would not meet the same world.
    run_state_machine_as_test(MoneyMachine, settings=settings(
        max_examples=6, stateful_step_count=10, deadline=None, database=None,
        phases=[Phase.generate],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
