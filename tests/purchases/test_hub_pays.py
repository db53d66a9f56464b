"""The hub's own payment in a user's channel (`hub_pays`) and the check that a held payment
could be paid now (`_hub_can_hold_for`), at the exact edges of the hub's balances. Channels are
written directly (a double-signed state with the hub's balances); the hub signs for real."""

from __future__ import annotations

import secrets

import pytest
from django.db import transaction

from hub.chain.signer import hub_state_signer
from hub.channels.models import Channel, ChannelUpdate
from hub.channels.records import channel_state, contract_address, hub_address
from hub.core import ZERO_ROOT, ChannelState
from hub.core.hashing import channel_state_hash
from hub.core.signing import Signer
from hub.purchases.models import Payment, Purchase
from hub.purchases.services import _hub_can_hold_for, hub_pays, optimistic_refund, optimistic_sweep
from hub.purchases.types import PaymentRequest
from tests.chain_env import ChainEnv

pytestmark = [pytest.mark.chain, pytest.mark.django_db]


def channel_with(*, wei_hub: int, token_hub: int, timeout: int = 0, status: str = "open") -> Channel:
    user = Signer(secrets.token_bytes(32))
    address = user.address.lower()
    state = ChannelState(contract_address=contract_address(), user=address, recipient=address,
                         balance_wei_hub=wei_hub, balance_token_hub=token_hub, balance_token_user=1,
                         tx_count_global=1, tx_count_chain=1, thread_root=ZERO_ROOT, timeout=timeout)
    state = user.sign_channel_state(hub_state_signer().sign_channel_state(state), as_party="user")
    with transaction.atomic():
        channel = Channel.objects.create(contract=contract_address(), user=address, status=status)
        update = ChannelUpdate.objects.create(
            channel=channel, reason="ConfirmPending", originator=address, recipient=address,
            balance_wei_hub=wei_hub, balance_token_hub=token_hub, balance_token_user=1,
            tx_count_global=1, tx_count_chain=1, thread_root=ZERO_ROOT, timeout=timeout,
            state_hash=channel_state_hash(state), sig_hub=state.sig_hub, sig_user=state.sig_user)
        Channel.objects.filter(pk=channel.pk).update(latest_update=update)
    return Channel.objects.get(pk=channel.pk)


def pay(channel: Channel, wei: int, token: int) -> ChannelState | None:
    with transaction.atomic():
        recorded = hub_pays(channel, channel_state(channel, channel.user), wei, token, memo="test")
    return None if recorded is None else recorded.state


def test_the_hub_pays_up_to_exactly_what_it_holds_in_the_channel(hub_chain: ChainEnv) -> None:
    channel = channel_with(wei_hub=3, token_hub=5)
    assert pay(channel, 4, 0) is None and pay(channel, 0, 6) is None
    paid = pay(channel, 3, 5)
    assert paid is not None
    assert (paid.balance_wei_hub, paid.balance_token_hub, paid.balance_wei_user,
            paid.balance_token_user, paid.tx_count_global) == (0, 0, 3, 6, 2)
    row = ChannelUpdate.objects.get(channel=channel, tx_count_global=2)
    assert (row.reason, row.originator, row.sig_user) == ("Payment", hub_address(), None)
    assert row.args == {"recipient": "user", "amountWei": "3", "amountToken": "5"}


def test_the_hub_pays_nothing_in_a_busy_or_disputed_channel(hub_chain: ChainEnv) -> None:
    assert pay(channel_with(wei_hub=3, token_hub=5, timeout=10**12), 0, 1) is None
    assert pay(channel_with(wei_hub=3, token_hub=5, status="channel_dispute"), 0, 1) is None


def test_a_payment_is_held_only_when_the_hub_could_pay_it_with_what_it_holds_already(
        hub_chain: ChainEnv) -> None:
    channel = channel_with(wei_hub=10, token_hub=10)
    prev = channel_state(channel, channel.user)
    purchase = Purchase.objects.create(id="pur_" + secrets.token_hex(16), sender=channel.user, meta={})
    for recipient, status in ((channel.user, "pending"), (channel.user, "completed"),
                              ("0x" + "e1" * 20, "pending")):
        Payment.objects.create(purchase=purchase, sender="0x" + "5a" * 20, recipient=recipient,
                               amount_wei=4, amount_token=4, type="PT_CHANNEL", status=status)

    def holds(wei: int, token: int, on: Channel = channel, state: ChannelState = prev) -> bool:
        return _hub_can_hold_for(on, state, PaymentRequest(
            recipient=channel.user, amount_wei=wei, amount_token=token, type="PT_CHANNEL",
            meta={}, tx_count=0, sig_user=""))

    assert holds(6, 6) and holds(6, 0) and holds(0, 6)
    assert not holds(7, 0) and not holds(0, 7)
    busy = channel_with(wei_hub=10, token_hub=10, timeout=10**12)
    assert not holds(1, 1, busy, channel_state(busy, busy.user))
    disputed = channel_with(wei_hub=10, token_hub=10, status="thread_dispute")
    assert not holds(1, 1, disputed, channel_state(disputed, disputed.user))
    nothing_held = channel_with(wei_hub=10, token_hub=10)
    assert _hub_can_hold_for(nothing_held, channel_state(nothing_held, nothing_held.user),
                             PaymentRequest(recipient=nothing_held.user, amount_wei=10,
                                            amount_token=10, type="PT_CHANNEL", meta={},
                                            tx_count=0, sig_user=""))


def held(purchase: Purchase, recipient: str, token: int, *, ptype: str = "PT_OPTIMISTIC",
         expired: bool = False, minutes_old: float = 0) -> Payment:
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    return Payment.objects.create(
        purchase=purchase, sender=purchase.sender, recipient=recipient, amount_token=token,
        type=ptype, status="pending", created_at=now - timedelta(minutes=minutes_old),
        expires_at=now + timedelta(hours=-1 if expired else 1))


@pytest.fixture
def timed_payments(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Payment._meta.get_field("created_at"), "auto_now_add", False)


def test_the_sweep_forwards_what_it_can_refunds_what_expired_and_counts_each(
        hub_chain: ChainEnv, timed_payments: None) -> None:
    payer = channel_with(wei_hub=0, token_hub=10)
    can, cannot = channel_with(wei_hub=0, token_hub=10), channel_with(wei_hub=0, token_hub=0)
    purchase = Purchase.objects.create(id="pur_" + secrets.token_hex(16), sender=payer.user, meta={})
    forwarded = [held(purchase, can.user, 3), held(purchase, can.user, 2)]
    refunded = [held(purchase, cannot.user, 2, expired=True), held(purchase, cannot.user, 1, expired=True)]
    waiting = held(purchase, cannot.user, 1)
    assert optimistic_sweep() == (2, 2)
    states = dict(Payment.objects.values_list("pk", "status"))
    assert [states[p.pk] for p in forwarded] == ["completed", "completed"]
    assert [states[p.pk] for p in refunded] == ["refunded", "refunded"]
    assert states[waiting.pk] == "pending"
    payer = Channel.objects.get(pk=payer.pk)
    assert channel_state(payer, payer.user).balance_token_hub == 10 - 3  # both refunds


def test_with_the_delivery_yield_young_channel_payments_are_left_to_their_recipient(
        hub_chain: ChainEnv, timed_payments: None, settings: object) -> None:
    settings.DELIVERY_YIELD_MS = 600_000  # type: ignore[attr-defined]  # ten pauses: 100 minutes
    payer = channel_with(wei_hub=0, token_hub=0)
    can = channel_with(wei_hub=0, token_hub=100)
    purchase = Purchase.objects.create(id="pur_" + secrets.token_hex(16), sender=payer.user, meta={})
    young = held(purchase, can.user, 1, ptype="PT_CHANNEL", minutes_old=95)
    old = held(purchase, can.user, 1, ptype="PT_CHANNEL", minutes_old=105)
    optimistic = held(purchase, can.user, 1, minutes_old=0)
    assert optimistic_sweep() == (2, 0)
    states = dict(Payment.objects.values_list("pk", "status"))
    assert (states[young.pk], states[old.pk], states[optimistic.pk]) == (
        "pending", "completed", "completed")


def test_a_refund_is_of_the_payment_named_and_happens_once(hub_chain: ChainEnv,
                                                            timed_payments: None) -> None:
    payer, cannot = channel_with(wei_hub=0, token_hub=10), channel_with(wei_hub=0, token_hub=0)
    purchase = Purchase.objects.create(id="pur_" + secrets.token_hex(16), sender=payer.user, meta={})
    first = held(purchase, cannot.user, 1, expired=True)
    second = held(purchase, cannot.user, 2, expired=True)
    assert optimistic_refund(payment_id=second.pk) is True
    assert optimistic_refund(payment_id=second.pk) is False  # refunded already: never twice
    states = dict(Payment.objects.values_list("pk", "status"))
    assert (states[first.pk], states[second.pk]) == ("pending", "refunded")
    payer = Channel.objects.get(pk=payer.pk)
    assert channel_state(payer, payer.user).balance_token_hub == 10 - 2
    refunded = Payment.objects.get(pk=second.pk)
    assert refunded.refund_update_id == payer.latest_update_id and refunded.completed_at is not None
    assert refunded.refund_update.tx_count_global == 2

    busy = channel_with(wei_hub=0, token_hub=10, timeout=10**12)
    purchase = Purchase.objects.create(id="pur_" + secrets.token_hex(16), sender=busy.user, meta={})
    waiting = held(purchase, cannot.user, 1, expired=True)
    assert optimistic_refund(payment_id=waiting.pk) is False  # the payer's channel is busy
    assert Payment.objects.get(pk=waiting.pk).status == "pending"
