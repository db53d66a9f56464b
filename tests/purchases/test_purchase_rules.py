"""The purchase path's rules one service call at a time (hub/purchases/services.py): refusal
codes and statuses, what each payment posts to the ledger, who is paid and how much. Channels are
written directly (a double-signed state with the hub's balances, tests/purchases/test_hub_pays.py);
the hub signs for real."""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import dramatiq
import pytest
from django.db import connection, transaction
from django.db.models import Model
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from dramatiq import Message

from hub.chain.signer import hub_state_signer
from hub.channels.errors import ChannelError
from hub.channels.models import Channel, ChannelUpdate, ProposedUpdate
from hub.channels.records import channel_state, contract_address, hub_address, require_open
from hub.core import ZERO_ROOT, ChannelState, PaymentArgs, UpdateRejected, apply_update
from hub.core.hashing import channel_state_hash
from hub.core.signing import Signer
from hub.ledger.accounts import custodial as custodial_account
from hub.ledger.models import LedgerEntry
from hub.purchases import listeners
from hub.purchases.listeners import on_payments_settled
from hub.purchases.models import Payment, Purchase
from hub.purchases.services import (
    InsufficientCollateral,
    _recipient_is_paying,
    deliver_held,
    hub_pays,
    optimistic_forward,
    optimistic_refund,
    optimistic_sweep,
    pay_thread,
    purchase_create,
)
from hub.purchases.types import PaymentRequest, Purchasing
from ops import clock
from tests.chain_env import ChainEnv
from tests.purchases.helpers import last_key

pytestmark = [pytest.mark.chain, pytest.mark.django_db]

BOB = "0x" + "b0" * 20


def purchase_of(sender: str) -> Purchase:
    return Purchase.objects.create(id="pur_" + secrets.token_hex(16), sender=sender, meta={})


def test_a_thread_payment_without_an_open_thread_is_refused_as_not_found(hub_chain: ChainEnv) -> None:
    sender = "0x" + secrets.token_hex(20)
    ctx = Purchasing(purchase=purchase_of(sender), sender=sender, locked={})
    request = PaymentRequest(recipient=BOB, amount_wei=0, amount_token=1, type="PT_THREAD",
                             meta={}, tx_count=0, sig_user="", thread_state={})
    with pytest.raises(ChannelError) as refused:
        pay_thread(ctx, request, {})
    assert (refused.value.code, refused.value.status) == ("thread_not_found", 404)
    assert refused.value.message == f"no open thread from {sender} to {BOB}"


# --- the worker's delivery of held payments (deliver_held) -----------------------------------

PAUSE_MS = 600_000  # ten minutes: no step of a test is near an edge


@contextmanager
def written_at(model: type[Model]) -> Iterator[None]:
    """Rows of `model` written here keep the `created_at` they are given (the rows the hub
    writes meanwhile get their own time, as always)."""
    stamped = model._meta.get_field("created_at")
    stamped.auto_now_add = False  # type: ignore[attr-defined]
    try:
        yield
    finally:
        stamped.auto_now_add = True  # type: ignore[attr-defined]


def channel_of(*, token_hub: int = 0, token_user: int = 1, wei_hub: int = 0, wei_user: int = 0,
               status: str = "open", reason: str = "Payment", by_user: bool = False,
               minutes_ago: float = 10_000) -> tuple[Channel, Signer]:
    """A channel whose latest state (txCount 1, double-signed) holds these balances: `reason`,
    made by its user (`by_user`) or the hub, `minutes_ago`. Returns it and the user's key."""
    user = Signer(secrets.token_bytes(32))
    address = user.address.lower()
    balances = {"balance_wei_hub": wei_hub, "balance_wei_user": wei_user,
                "balance_token_hub": token_hub, "balance_token_user": token_user}
    state = ChannelState(contract_address=contract_address(), user=address, recipient=address,
                         tx_count_global=1, tx_count_chain=1, thread_root=ZERO_ROOT, **balances)
    state = user.sign_channel_state(hub_state_signer().sign_channel_state(state), as_party="user")
    with transaction.atomic():
        channel = Channel.objects.create(contract=contract_address(), user=address, status=status)
        with written_at(ChannelUpdate):
            update = ChannelUpdate.objects.create(
                channel=channel, reason=reason, recipient=address,
                originator=address if by_user else hub_address(), tx_count_global=1,
                tx_count_chain=1, thread_root=ZERO_ROOT, state_hash=channel_state_hash(state),
                sig_hub=state.sig_hub, sig_user=state.sig_user,
                created_at=timezone.now() - timedelta(minutes=minutes_ago), **balances)
        Channel.objects.filter(pk=channel.pk).update(latest_update=update)
    return Channel.objects.get(pk=channel.pk), user


def channel_paid(*, token_hub: int = 10, paid_minutes_ago: float | None = None) -> Channel:
    """A channel (the hub holding `token_hub`) whose latest state is the user's own Payment made
    `paid_minutes_ago` (or the hub's, long ago, when None)."""
    if paid_minutes_ago is None:
        return channel_of(token_hub=token_hub)[0]
    return channel_of(token_hub=token_hub, by_user=True, minutes_ago=paid_minutes_ago)[0]


def held_for(recipient: str, *, token: int = 1, minutes_old: float = 0, status: str = "pending",
             ptype: str = "PT_CHANNEL", expires_in_minutes: float = 60) -> Payment:
    sender = "0x" + secrets.token_hex(20)
    now = timezone.now()
    with written_at(Payment):
        return Payment.objects.create(
            purchase=purchase_of(sender), sender=sender, recipient=recipient, amount_token=token,
            type=ptype, status=status, created_at=now - timedelta(minutes=minutes_old),
            expires_at=now + timedelta(minutes=expires_in_minutes))


@pytest.fixture
def timed_rows(settings: Any) -> None:
    """The delivery yield on with a ten-minute pause; the stub broker's queues empty."""
    settings.DELIVERY_YIELD_MS = PAUSE_MS
    dramatiq.get_broker().flush_all()


def queued_deliveries() -> list[tuple[tuple[Any, ...], int | None]]:
    """The deliver_held_payments messages queued: (args, eta in ms or None)."""
    broker = dramatiq.get_broker()
    found = []
    for queue in broker.queues.values():
        for raw in list(queue.queue):
            message = Message.decode(raw)
            if message.actor_name == "deliver_held_payments":
                found.append((tuple(message.args), message.options.get("eta")))
    return found


def status_of(payment: Payment) -> str:
    return Payment.objects.get(pk=payment.pk).status


def test_the_worker_waits_a_pause_while_the_recipient_paid_within_three_pauses(
        hub_chain: ChainEnv, timed_rows: None) -> None:
    recipient = channel_paid(paid_minutes_ago=20)  # two pauses ago: paying, at three pauses
    payment = held_for(recipient.user, minutes_old=5)
    before = int(time.time() * 1000)
    assert deliver_held(recipient=recipient.user) == 0
    after = int(time.time() * 1000)
    assert status_of(payment) == "pending"
    [(args, eta)] = queued_deliveries()  # asked again after one pause, for this recipient
    assert args == (recipient.user,)
    assert eta is not None and before + PAUSE_MS <= eta <= after + PAUSE_MS


def test_the_worker_delivers_at_once_to_a_recipient_who_is_not_paying(
        hub_chain: ChainEnv, timed_rows: None) -> None:
    recipient = channel_paid(paid_minutes_ago=35)  # three and a half pauses ago: not paying
    payment = held_for(recipient.user, token=3, minutes_old=5)
    assert deliver_held(recipient=recipient.user) == 1
    delivered = Payment.objects.get(pk=payment.pk)
    assert delivered.status == "completed" and delivered.disbursement is not None
    assert delivered.disbursement.balance_token_hub == 10 - 3
    assert queued_deliveries() == []
    idle = channel_paid()  # the hub's payment long ago: its user is not paying either
    young = held_for(idle.user, minutes_old=1)
    assert deliver_held(recipient=idle.user) == 1 and status_of(young) == "completed"


def test_the_worker_delivers_a_payment_ten_pauses_old_even_while_the_recipient_pays(
        hub_chain: ChainEnv, timed_rows: None) -> None:
    recipient = channel_paid(paid_minutes_ago=2)
    old = held_for(recipient.user, minutes_old=105)
    young = held_for(recipient.user, minutes_old=1)
    assert deliver_held(recipient=recipient.user) == 2  # the oldest decides, for all of them
    assert (status_of(old), status_of(young)) == ("completed", "completed")


def test_the_worker_delivers_only_the_recipients_own_pending_payments(
        hub_chain: ChainEnv, timed_rows: None) -> None:
    recipient, other = channel_paid(paid_minutes_ago=2), channel_paid()
    done_long_ago = held_for(recipient.user, minutes_old=500, status="completed")
    others = held_for(other.user, minutes_old=500)
    mine = held_for(recipient.user, minutes_old=5)
    # paying, and the oldest of *pending* payments is young (the completed one does not count)
    assert deliver_held(recipient=recipient.user) == 0
    assert (status_of(mine), status_of(others), status_of(done_long_ago)) == (
        "pending", "pending", "completed")
    idle = channel_paid()
    mine = held_for(idle.user, minutes_old=5)
    assert deliver_held(recipient=idle.user) == 1
    assert (status_of(mine), status_of(others)) == ("completed", "pending")
    assert deliver_held(recipient="0x" + secrets.token_hex(20)) == 0  # nothing held: nothing asked
    assert queued_deliveries() == [((recipient.user,), queued_deliveries()[0][1])]


# --- a purchase through purchase_create, its payer's Payments signed with the payer's key -----

TOKEN = 10**18


def pay_items(payer: Channel, key: Signer, *payments: dict[str, Any]) -> list[dict[str, Any]]:
    """The purchase's `payments`: each `{recipient, type, token=0, wei=0, meta={}}` becomes the
    payer's signed Payment to the hub, chained on the channel's latest state."""
    state = channel_state(Channel.objects.get(pk=payer.pk), payer.user)
    items = []
    for p in payments:
        args = PaymentArgs(recipient="hub", amount_wei=p.get("wei", 0), amount_token=p.get("token", 0))
        state = key.sign_channel_state(apply_update(state, "Payment", args, now=0), as_party="user")
        items.append({"recipient": p["recipient"], "type": p["type"], "meta": p.get("meta", {}),
                      "amount": {"amountWei": str(args.amount_wei),
                                 "amountToken": str(args.amount_token)},
                      "update": {"reason": "Payment", "args": args.to_json(),
                                 "txCount": state.tx_count_global, "sigUser": state.sig_user}})
    return items


def test_a_channel_payment_refused_for_want_of_collateral_asks_a_top_up_of_its_amount(
        hub_chain: ChainEnv) -> None:
    payer, key = channel_of(token_user=100 * TOKEN)
    recipient, _ = channel_of(token_hub=0)
    items = pay_items(payer, key, {"recipient": recipient.user, "type": "PT_CHANNEL",
                                   "token": 50 * TOKEN})
    with pytest.raises(InsufficientCollateral) as refused:
        purchase_create(sender=payer.user, meta={}, payments=items)
    assert (refused.value.code, refused.value.status, refused.value.recipient,
            refused.value.amount_wei, refused.value.amount_token) == (
        "insufficient_collateral", 409, recipient.user, 0, 50 * TOKEN)
    assert Payment.objects.count() == 0 and ChannelUpdate.objects.filter(channel=payer).count() == 1
    proposal = ProposedUpdate.objects.get(channel=recipient)
    assert proposal.reason == "ProposePendingDeposit"
    assert int(proposal.args["depositTokenHub"]) >= 50 * TOKEN  # enough for the refused payment


def test_a_top_up_that_cannot_be_proposed_is_logged_with_the_recipient_and_the_reason(
        hub_chain: ChainEnv, caplog: pytest.LogCaptureFixture) -> None:
    payer, key = channel_of(token_user=10 * TOKEN)
    disputed, _ = channel_of(token_hub=0, status="channel_dispute")
    items = pay_items(payer, key, {"recipient": disputed.user, "type": "PT_CHANNEL", "token": TOKEN})
    with caplog.at_level(logging.INFO, logger="hub.purchases.services"), \
            pytest.raises(InsufficientCollateral):
        purchase_create(sender=payer.user, meta={}, payments=items)
    [record] = [r for r in caplog.records if r.name == "hub.purchases.services"]
    with pytest.raises(ChannelError) as refused:
        require_open(Channel.objects.get(pk=disputed.pk))
    reason = refused.value
    assert record.getMessage() == f"collateral for {disputed.user} not requested: {reason}"
    assert ProposedUpdate.objects.count() == 0


# --- what the hub held for a payer, delivered in the payer's own purchase ---------------------

def test_a_purchase_delivers_what_the_hub_holds_for_its_payer_in_order_until_the_hub_runs_short(
        hub_chain: ChainEnv, timed_rows: None) -> None:
    payer, key = channel_of(token_hub=0, token_user=10)
    received = held_for(payer.user, token=1, minutes_old=30, status="completed")
    first, second, too_big = (held_for(payer.user, token=2), held_for(payer.user, token=2),
                              held_for(payer.user, token=3))
    smaller_after = held_for(payer.user, token=1)  # after one the hub cannot pay: waits its turn
    shop = "0x" + secrets.token_hex(20)
    result = purchase_create(sender=payer.user, meta={}, payments=pay_items(
        payer, key, {"recipient": shop, "type": "PT_CUSTODIAL", "token": 4}))
    assert [p.pk for p in result.delivered] == [first.pk, second.pk]
    assert [status_of(p) for p in (first, second, too_big, smaller_after)] == [
        "completed", "completed", "pending", "pending"]
    assert Payment.objects.get(pk=received.pk).disbursement is None  # not paid a second time
    assert all(Payment.objects.get(pk=p.pk).completed_at is not None for p in (first, second))
    latest = channel_state(Channel.objects.get(pk=payer.pk), payer.user)
    # the payer paid the hub 4, then the hub paid 2 and 2 back in the payer's channel, each
    # state on the one before
    assert (latest.balance_token_hub, latest.balance_token_user, latest.tx_count_global) == (
        0, 10, 4)
    assert [p.disbursement.tx_count_global for p in result.delivered] == [3, 4]


def test_a_purchase_looks_for_nothing_held_when_its_lock_found_nothing_for_the_payer(
        hub_chain: ChainEnv, timed_rows: None) -> None:
    payer, key = channel_of(token_hub=5, token_user=10)
    shop = "0x" + secrets.token_hex(20)

    def held_lookups() -> int:
        with CaptureQueriesContext(connection) as queries:
            purchase_create(sender=payer.user, meta={}, payments=pay_items(
                payer, key, {"recipient": shop, "type": "PT_CUSTODIAL", "token": 1}))
        return sum("SKIP LOCKED" in q["sql"] for q in queries.captured_queries)

    assert held_lookups() == 0
    held_for(payer.user, token=1)
    assert held_lookups() == 1  # the lock's read said something is held: the rows are read


def test_a_purchase_delivers_at_most_fifty_held_payments(hub_chain: ChainEnv,
                                                        timed_rows: None) -> None:
    payer, key = channel_of(token_hub=100, token_user=10)
    held = [held_for(payer.user, token=1) for _ in range(51)]
    result = purchase_create(sender=payer.user, meta={}, payments=pay_items(
        payer, key, {"recipient": "0x" + secrets.token_hex(20), "type": "PT_CUSTODIAL", "token": 1}))
    assert [p.pk for p in result.delivered] == [p.pk for p in held[:50]]
    assert status_of(held[50]) == "pending"


# --- optimistic payments: held (ledger), forwarded or refunded exactly once -------------------

def postings(account: str) -> list[tuple[str, int, str]]:
    return sorted(LedgerEntry.objects.filter(account=account).values_list("asset", "amount", "memo"))


def test_a_held_optimistic_payment_is_posted_to_its_own_hold_account_and_released_once(
        hub_chain: ChainEnv) -> None:
    payer, key = channel_of(wei_user=50, token_user=60)
    recipient, _ = channel_of(token_hub=0)  # a channel, without collateral
    result = purchase_create(sender=payer.user, meta={}, payments=pay_items(
        payer, key, {"recipient": recipient.user, "type": "PT_OPTIMISTIC", "wei": 7, "token": 9}))
    [payment] = result.payments
    assert Payment.objects.get(pk=payment.pk).status == "pending"
    held = f"payment {payment.pk} held (collateral)"
    assert postings(f"optimistic:{payment.pk}") == [("token", 9, held), ("wei", 7, held)]
    float_before = dict(LedgerEntry.objects.filter(account="hub:optimistic_float", memo=held)
                        .values_list("asset", "amount"))
    assert float_before == {"wei": -7, "token": -9}
    # it expires: refunded to the payer, the hold released, each exactly once
    later = timezone.now() + timedelta(days=1)
    assert optimistic_refund(payment_id=payment.pk, now=later) is True
    assert optimistic_refund(payment_id=payment.pk, now=later) is False
    released = f"optimistic payment {payment.pk} released"
    assert postings(f"optimistic:{payment.pk}") == [
        ("token", -9, released), ("token", 9, held), ("wei", -7, released), ("wei", 7, held)]
    assert dict(LedgerEntry.objects.filter(account="hub:optimistic_float", memo=released)
                .values_list("asset", "amount")) == {"wei": 7, "token": 9}
    refunded = Payment.objects.get(pk=payment.pk)
    assert refunded.status == "refunded" and refunded.completed_at is not None
    latest = channel_state(Channel.objects.get(pk=payer.pk), payer.user)
    assert (latest.balance_wei_user, latest.balance_token_user) == (50, 60)


def test_a_held_payment_is_forwarded_to_its_recipient_once_and_a_settled_one_never(
        hub_chain: ChainEnv, timed_rows: None) -> None:
    recipient = channel_of(wei_hub=0, token_hub=10)[0]
    payment = held_for(recipient.user, token=4, ptype="PT_OPTIMISTIC")
    assert optimistic_forward(payment_id=payment.pk) is True
    forwarded = Payment.objects.get(pk=payment.pk)
    assert forwarded.status == "completed" and forwarded.completed_at is not None
    assert (forwarded.disbursement.balance_token_hub, forwarded.disbursement.balance_token_user,
            forwarded.disbursement.tx_count_global) == (6, 1 + 4, 2)
    released = f"optimistic payment {payment.pk} released"
    assert postings(f"optimistic:{payment.pk}") == [("token", -4, released)]
    assert optimistic_forward(payment_id=payment.pk) is False  # never twice
    settled = held_for(recipient.user, token=1, status="completed")
    assert optimistic_forward(payment_id=settled.pk) is False  # not held: nothing to forward
    assert optimistic_forward(payment_id=settled.pk + 1000) is False
    assert ChannelUpdate.objects.filter(channel=recipient).count() == 2
    assert postings(f"optimistic:{settled.pk}") == []


def test_a_sweep_takes_at_most_two_hundred_held_payments_oldest_first(
        hub_chain: ChainEnv, timed_rows: None) -> None:
    nowhere = channel_of(token_hub=0)[0]  # the hub cannot pay here, and nothing has expired
    first = held_for(nowhere.user, ptype="PT_OPTIMISTIC")
    Payment.objects.bulk_create(
        Payment(purchase_id=first.purchase_id, sender=first.sender, recipient=nowhere.user,
                amount_token=1, type="PT_OPTIMISTIC", status="pending", expires_at=first.expires_at)
        for _ in range(199))
    can = channel_of(token_hub=10)[0]
    last = held_for(can.user, ptype="PT_OPTIMISTIC")
    assert optimistic_sweep() == (0, 0)  # the 201st is left to the next sweep
    assert status_of(last) == "pending"
    assert optimistic_sweep(limit=201) == (1, 0)


def test_a_sweep_judges_expiry_as_of_its_start(hub_chain: ChainEnv, timed_rows: None,
                                                movable_clock: Any) -> None:
    """A payment that expires while the sweep runs is left to the next sweep (one instant for
    the whole sweep): here forwarding the first payment takes an hour."""
    payer = channel_of(token_hub=10)[0]
    can = channel_of(token_hub=10)[0]
    first = held_for(can.user, ptype="PT_OPTIMISTIC")
    purchase = purchase_of(payer.user)
    with written_at(Payment):
        expiring = Payment.objects.create(
            purchase=purchase, sender=payer.user, recipient=channel_of(token_hub=0)[0].user,
            amount_token=1, type="PT_OPTIMISTIC", status="pending", created_at=timezone.now(),
            expires_at=clock.now() + timedelta(minutes=30))

    def slow(payments: Any, **_known: Any) -> None:
        if any(p.pk == first.pk for p in payments):
            movable_clock.advance(3600)

    on_payments_settled(slow)
    try:
        assert optimistic_sweep() == (1, 0)
    finally:
        listeners._listeners.remove(slow)
    assert status_of(expiring) == "pending"
    assert optimistic_sweep() == (0, 1)  # the next sweep, an hour later
    assert status_of(expiring) == "refunded"


def test_a_payment_held_exactly_ten_pauses_is_delivered_even_while_the_recipient_pays(
        hub_chain: ChainEnv, timed_rows: None, monkeypatch: pytest.MonkeyPatch) -> None:
    at = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: at)  # one instant for the whole test
    recipient = channel_paid(paid_minutes_ago=2)
    payment = held_for(recipient.user, minutes_old=100)  # ten pauses to the microsecond
    assert deliver_held(recipient=recipient.user) == 1
    assert status_of(payment) == "completed"


@pytest.mark.django_db(transaction=True)
def test_a_purchase_skips_held_payments_another_process_is_delivering(
        hub_chain: ChainEnv, timed_rows: None) -> None:
    payer, key = channel_of(token_hub=0, token_user=10)
    busy, free = held_for(payer.user, token=1), held_for(payer.user, token=1)
    locked, finish = threading.Event(), threading.Event()

    def deliverer() -> None:  # e.g. the worker's deliver_held, holding the row
        try:
            with transaction.atomic():
                Payment.objects.select_for_update().get(pk=busy.pk)
                locked.set()
                finish.wait(timeout=120)
        finally:
            connection.close()

    thread = threading.Thread(target=deliverer)
    thread.start()
    try:
        assert locked.wait(timeout=60)
        with connection.cursor() as cursor:  # waiting for the row would fail the purchase
            cursor.execute("SET lock_timeout = '5s'")
        result = purchase_create(sender=payer.user, meta={}, payments=pay_items(
            payer, key, {"recipient": "0x" + secrets.token_hex(20), "type": "PT_CUSTODIAL",
                         "token": 2}))
    finally:
        finish.set()
        thread.join()
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
    assert [p.pk for p in result.delivered] == [free.pk]
    assert (status_of(busy), status_of(free)) == ("pending", "completed")


# --- the delivery yield inside a purchase: a recipient who is paying has the payment held -----

def test_a_channel_payment_to_a_recipient_paying_within_one_pause_is_held_else_paid_at_once(
        hub_chain: ChainEnv, timed_rows: None, django_capture_on_commit_callbacks: Any) -> None:
    payer, key = channel_of(token_user=10)
    paying = channel_paid(token_hub=10, paid_minutes_ago=5)
    paid_a_while_ago = channel_paid(token_hub=10, paid_minutes_ago=15)  # 1.5 pauses: not paying
    with django_capture_on_commit_callbacks(execute=True):
        result = purchase_create(sender=payer.user, meta={}, payments=pay_items(
            payer, key, {"recipient": paying.user, "type": "PT_CHANNEL", "token": 2},
            {"recipient": paid_a_while_ago.user, "type": "PT_CHANNEL", "token": 3}))
    held, paid = (Payment.objects.get(pk=p.pk) for p in result.payments)
    assert (held.status, held.disbursement, paid.status) == ("pending", None, "completed")
    assert paid.disbursement.balance_token_hub == 10 - 3
    memo = f"payment {held.pk} held (recipient_paying)"
    assert postings(f"optimistic:{held.pk}") == [("token", 2, memo)]
    assert ChannelUpdate.objects.filter(channel=paying).count() == 1  # nothing signed there
    [(args, eta)] = queued_deliveries()  # the worker delivers it after the pause (on commit)
    assert args == (paying.user,) and eta is not None


@pytest.mark.parametrize("minutes_ago", [1, 60])
def test_whether_a_recipient_is_paying_is_read_from_the_loaded_head_alone_when_it_decides(
        hub_chain: ChainEnv, timed_rows: None, minutes_ago: float,
        django_assert_num_queries: Any) -> None:
    """The user's own Payment within the pause, or nothing newer than five pauses: the head
    loaded with the channel answers, no query of the channel's history."""
    channel = channel_paid(paid_minutes_ago=minutes_ago)
    loaded = Channel.objects.select_related("latest_update").get(pk=channel.pk)
    with django_assert_num_queries(0):
        assert _recipient_is_paying(loaded) is (minutes_ago == 1)


@pytest.mark.parametrize("head", [True, False])
def test_a_payment_exactly_one_pause_ago_is_not_paying_whether_the_head_is_loaded_or_not(
        hub_chain: ChainEnv, timed_rows: None, monkeypatch: pytest.MonkeyPatch,
        head: bool) -> None:
    """The window is open at its far end: the loaded head and the channel's history give the
    same answer at the edge (they differed: the head said paying, the history not)."""
    at = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: at)
    channel = channel_paid(paid_minutes_ago=10)
    rows = Channel.objects.select_related("latest_update") if head else Channel.objects.all()
    assert _recipient_is_paying(rows.get(pk=channel.pk)) is False
    just_inside = channel_of(by_user=True, minutes_ago=10 - 1 / 60_000)[0]  # a millisecond less
    rows = Channel.objects.select_related("latest_update") if head else Channel.objects.all()
    assert _recipient_is_paying(rows.get(pk=just_inside.pk)) is True


def _queries_of_a_completed_payment(recipient: Channel, token: int, prefix: str) -> list[str]:
    """A new payer's PT_CHANNEL payment of `token` to `recipient`, which must complete: the
    statements it sent that start with `prefix`."""
    payer, key = channel_of(token_user=10)
    with CaptureQueriesContext(connection) as queries:
        result = purchase_create(sender=payer.user, meta={}, payments=pay_items(
            payer, key, {"recipient": recipient.user, "type": "PT_CHANNEL", "token": token}))
    assert Payment.objects.get(pk=result.payments[0].pk).status == "completed"
    return [q["sql"] for q in queries.captured_queries if q["sql"].startswith(prefix)]


def test_a_purchase_judges_its_recipient_from_what_its_lock_read(
        hub_chain: ChainEnv, timed_rows: None) -> None:
    """The recipient's latest state is the hub's, a minute old: whether they are paying is read
    from the lock's statement (their own recent payments), not from another query."""
    recipient = channel_of(token_hub=10, minutes_ago=1)[0]
    history = f'SELECT "{ChannelUpdate._meta.db_table}"."originator"'
    assert _queries_of_a_completed_payment(recipient, 2, history) == []


def test_the_hubs_own_payment_after_the_recipients_does_not_hide_that_they_are_paying(
        hub_chain: ChainEnv, timed_rows: None) -> None:
    payer, key = channel_of(token_user=10)
    recipient = channel_paid(token_hub=10, paid_minutes_ago=5)
    with transaction.atomic():  # then the hub paid them: its state is the channel's head
        assert hub_pays(recipient, channel_state(recipient, recipient.user), 0, 1, memo="") is not None
    result = purchase_create(sender=payer.user, meta={}, payments=pay_items(
        payer, key, {"recipient": recipient.user, "type": "PT_CHANNEL", "token": 2}))
    assert Payment.objects.get(pk=result.payments[0].pk).status == "pending"  # held: paying


@pytest.mark.parametrize("ptype", ["PT_CHANNEL", "PT_OPTIMISTIC"])
def test_a_channel_payment_to_the_zero_address_is_refused(hub_chain: ChainEnv, ptype: str) -> None:
    payer, key = channel_of(token_user=10)
    with pytest.raises(UpdateRejected) as refused:
        purchase_create(sender=payer.user, meta={}, payments=pay_items(
            payer, key, {"recipient": "0x" + "00" * 20, "type": ptype, "token": 1}))
    assert (refused.value.code, refused.value.message) == (
        "bad_args", "only link payments go to the zero address")
    assert Payment.objects.count() == 0 and ChannelUpdate.objects.filter(channel=payer).count() == 1


# --- after the purchase: a top-up asked for recipients whose collateral crossed the floor ------

def queued(actor: str) -> list[tuple[Any, ...]]:
    broker = dramatiq.get_broker()
    return [tuple(m.args) for m in (Message.decode(raw) for q in broker.queues.values()
                                    for raw in list(q.queue)) if m.actor_name == actor]


def test_a_top_up_is_asked_for_recipients_whose_hub_balance_crossed_the_floor_or_who_wait(
        hub_chain: ChainEnv, settings: Any, django_capture_on_commit_callbacks: Any) -> None:
    settings.COLLATERAL_FLOOR_TOKENS = 10
    dramatiq.get_broker().flush_all()
    payer, key = channel_of(token_user=100 * TOKEN, wei_user=100)
    crosses = channel_of(token_hub=12 * TOKEN, wei_hub=100)[0]  # 12 -> 9 tokens: below the floor
    stays = channel_of(token_hub=25 * TOKEN)[0]  # 25 -> 22: the same multiple of the floor
    to_zero = channel_of(token_hub=10 * TOKEN)[0]  # 10 -> 0: a multiple left
    waits = channel_of(token_hub=0)[0]  # no collateral: held
    wei_only = channel_of(token_hub=10 * TOKEN, wei_hub=100)[0]
    with django_capture_on_commit_callbacks(execute=True):
        purchase_create(sender=payer.user, meta={}, payments=pay_items(
            payer, key,
            {"recipient": crosses.user, "type": "PT_CHANNEL", "token": 3 * TOKEN},
            {"recipient": stays.user, "type": "PT_CHANNEL", "token": 3 * TOKEN},
            {"recipient": to_zero.user, "type": "PT_CHANNEL", "token": 10 * TOKEN},
            {"recipient": waits.user, "type": "PT_OPTIMISTIC", "token": TOKEN},
            {"recipient": wei_only.user, "type": "PT_CHANNEL", "wei": 50},
            {"recipient": "0x" + secrets.token_hex(20), "type": "PT_CUSTODIAL", "token": TOKEN}))
    assert queued("collateralize_recipients") == [(sorted([crosses.user, to_zero.user, waits.user]),)]
    dramatiq.get_broker().flush_all()
    with django_capture_on_commit_callbacks(execute=True):
        purchase_create(sender=payer.user, meta={}, payments=pay_items(
            payer, key, {"recipient": stays.user, "type": "PT_CHANNEL", "token": TOKEN}))
    assert queued("collateralize_recipients") == []  # 22 -> 21: nothing to ask


# --- deliver_in_channel: who is paid in their channel, who custodially, who waits ---------------

def test_a_channel_payment_to_a_merchants_address_without_a_channel_is_kept_custodially(
        hub_chain: ChainEnv) -> None:
    from payments.merchants.services import merchant_create

    payer, key = channel_of(token_user=10, wei_user=10)
    receiving = "0x" + secrets.token_hex(20)
    merchant_create(name="Shop", addresses=[receiving])
    result = purchase_create(sender=payer.user, meta={"orderId": "o-1"}, payments=pay_items(
        payer, key, {"recipient": receiving, "type": "PT_CHANNEL", "wei": 3, "token": 5}))
    payment = Payment.objects.get(pk=result.payments[0].pk)
    assert (payment.status, payment.disbursement, payment.meta) == (
        "completed", None, {"orderId": "o-1", "deliveredAs": "PT_CUSTODIAL"})
    memo = f"payment {payment.pk}"
    assert postings(custodial_account(receiving)) == [("token", 5, memo), ("wei", 3, memo)]
    # an address nobody receives for, without a channel: refused, nothing kept
    nobody = "0x" + secrets.token_hex(20)
    with pytest.raises(InsufficientCollateral):
        purchase_create(sender=payer.user, meta={}, payments=pay_items(
            payer, key, {"recipient": nobody, "type": "PT_CHANNEL", "token": 1}))
    assert postings(custodial_account(nobody)) == []


def test_a_merchants_address_with_a_channel_is_paid_in_it_or_refused(hub_chain: ChainEnv) -> None:
    from payments.merchants.services import merchant_create

    payer, key = channel_of(token_user=10)
    empty = channel_of(token_hub=0)[0]  # a channel with a history: no custodial detour
    merchant_create(name="Shop", addresses=[empty.user])
    with pytest.raises(InsufficientCollateral):
        purchase_create(sender=payer.user, meta={}, payments=pay_items(
            payer, key, {"recipient": empty.user, "type": "PT_CHANNEL", "token": 1}))
    assert postings(custodial_account(empty.user)) == []


def test_only_channel_payments_wait_for_a_paying_recipient_and_only_when_the_hub_could_pay(
        hub_chain: ChainEnv, timed_rows: None) -> None:
    payer, key = channel_of(token_user=10)
    paying = channel_paid(token_hub=3, paid_minutes_ago=1)
    result = purchase_create(sender=payer.user, meta={}, payments=pay_items(
        payer, key, {"recipient": paying.user, "type": "PT_OPTIMISTIC", "token": 2}))
    paid = Payment.objects.get(pk=result.payments[0].pk)  # optimistic: paid at once
    assert paid.status == "completed" and paid.disbursement.balance_token_hub == 1
    with pytest.raises(InsufficientCollateral):  # more than the hub holds there: refused, not held
        purchase_create(sender=payer.user, meta={}, payments=pay_items(
            payer, key, {"recipient": paying.user, "type": "PT_CHANNEL", "token": 2}))
    assert Payment.objects.filter(status="pending").count() == 0


# --- purchase_create: who may buy, what is stored, what the answer says ------------------------

def test_a_purchase_is_refused_while_payments_are_off_or_the_payers_channel_is_not_open(
        hub_chain: ChainEnv) -> None:
    from ops import models as ops_models
    from ops.models import GlobalSwitches

    payer, key = channel_of(token_user=10)
    items = pay_items(payer, key, {"recipient": "0x" + secrets.token_hex(20),
                                   "type": "PT_CUSTODIAL", "token": 1})
    switches = GlobalSwitches.current()
    switches.payments_enabled = False
    switches.save()
    ops_models._SWITCH_CACHE.clear()
    try:
        with pytest.raises(ChannelError) as refused:
            purchase_create(sender=payer.user, meta={}, payments=items)
    finally:
        switches.payments_enabled = True
        switches.save()
        ops_models._SWITCH_CACHE.clear()
    assert (refused.value.code, refused.value.status) == ("payments_disabled", 503)
    disputed, key = channel_of(token_user=10, status="channel_dispute")
    with pytest.raises(ChannelError) as refused:
        purchase_create(sender=disputed.user, meta={}, payments=pay_items(
            disputed, key, {"recipient": "0x" + secrets.token_hex(20), "type": "PT_CUSTODIAL",
                            "token": 1}))
    assert (refused.value.code, refused.value.status) == ("channel_not_open", 409)
    for bad_sender, bad_meta, message in (("0x12", {}, "sender is not an address: '0x12'"),
                                          (payer.user, [], "meta must be an object")):
        with pytest.raises(UpdateRejected) as rejected:
            purchase_create(sender=bad_sender, meta=bad_meta, payments=items)
        assert (rejected.value.code, rejected.value.message) == ("bad_args", message)
    assert Purchase.objects.count() == 0 and Payment.objects.count() == 0


def test_a_purchase_stores_its_meta_under_each_payments_own_and_answers_with_its_first_txcount(
        hub_chain: ChainEnv) -> None:
    payer, key = channel_of(token_user=10)
    shop = "0x" + secrets.token_hex(20)
    result = purchase_create(sender=payer.user.upper().replace("0X", "0x"),
                             meta={"orderId": "o-1", "sku": "all"}, payments=pay_items(
        payer, key, {"recipient": shop, "type": "PT_CUSTODIAL", "token": 1, "meta": {"sku": "a"}},
        {"recipient": hub_address(), "type": "PT_CHANNEL", "token": 2}))
    assert (result.first_tx_count, result.payer_has_open_proposal) == (2, False)
    purchase = Purchase.objects.get(pk=result.purchase.pk)
    assert (purchase.sender, purchase.meta) == (payer.user, {"orderId": "o-1", "sku": "all"})
    to_shop, to_hub = (Payment.objects.get(pk=p.pk) for p in result.payments)
    assert (to_shop.sender, to_shop.meta, to_shop.payer_update.tx_count_global) == (
        payer.user, {"orderId": "o-1", "sku": "a"}, 2)
    # a payment to the hub itself is done once the payer paid: nothing delivered, nothing held
    assert (to_hub.recipient, to_hub.status, to_hub.disbursement, to_hub.amount_token) == (
        hub_address(), "completed", None, 2)
    assert to_hub.completed_at is not None and to_hub.payer_update.tx_count_global == 3
    assert postings(custodial_account(hub_address())) == []
    latest = channel_state(Channel.objects.get(pk=payer.pk), payer.user)
    assert (latest.balance_token_user, latest.balance_token_hub) == (10 - 3, 3)


def test_a_payment_signed_out_of_turn_or_by_someone_else_is_refused(hub_chain: ChainEnv) -> None:
    payer, key = channel_of(token_user=10)
    shop = "0x" + secrets.token_hex(20)
    [first, second] = pay_items(payer, key, {"recipient": shop, "type": "PT_CUSTODIAL", "token": 1},
                                {"recipient": shop, "type": "PT_CUSTODIAL", "token": 1})
    with pytest.raises(UpdateRejected) as refused:
        purchase_create(sender=payer.user, meta={}, payments=[second])
    assert (refused.value.code, refused.value.message) == ("tx_count_global", "txCount 3 does not follow 1")
    mallory = Signer(secrets.token_bytes(32))
    [forged] = pay_items(payer, mallory, {"recipient": shop, "type": "PT_CUSTODIAL", "token": 1})
    with pytest.raises(UpdateRejected) as refused:
        purchase_create(sender=payer.user, meta={}, payments=[forged])
    assert refused.value.code == "bad_signature"
    assert Payment.objects.count() == 0 and ChannelUpdate.objects.filter(channel=payer).count() == 1
    assert purchase_create(sender=payer.user, meta={}, payments=[first]).first_tx_count == 2


def test_a_top_up_is_asked_for_one_base_unit_across_the_floor_and_for_every_payment_without_one(
        hub_chain: ChainEnv, settings: Any, django_capture_on_commit_callbacks: Any) -> None:
    settings.COLLATERAL_FLOOR_TOKENS = 10
    payer, key = channel_of(token_user=100 * TOKEN)
    at_floor = channel_of(token_hub=10 * TOKEN)[0]
    above = channel_of(token_hub=25 * TOKEN)[0]

    def asked(recipient: Channel, ptype: str, token: int) -> list[tuple[Any, ...]]:
        dramatiq.get_broker().flush_all()
        with django_capture_on_commit_callbacks(execute=True):
            purchase_create(sender=payer.user, meta={}, payments=pay_items(
                payer, key, {"recipient": recipient.user, "type": ptype, "token": token}))
        return queued("collateralize_recipients")

    assert asked(at_floor, "PT_CHANNEL", 1) == [([at_floor.user],)]  # 10 tokens -> one unit less
    assert asked(above, "PT_OPTIMISTIC", TOKEN) == []  # paid at once, 25 -> 24: nothing to ask
    settings.COLLATERAL_FLOOR_TOKENS = 0  # no floor: every token payment asks the policy
    odd = channel_of(token_hub=5)[0]
    assert asked(odd, "PT_CHANNEL", 1) == [([odd.user],)]


def test_the_payments_listeners_get_the_recipients_merchant_read_with_the_lock(
        hub_chain: ChainEnv) -> None:
    """Whether a channel payment's recipient is a merchant's receiving address was read with the
    purchase's lock: the listeners are given it and ask nothing more."""
    from payments.merchants.models import ReceivingAddress

    recipient = channel_of(token_hub=10)[0]
    lookup = f'SELECT address, merchant_id FROM "{ReceivingAddress._meta.db_table}"'
    assert _queries_of_a_completed_payment(recipient, 1, lookup) == []


def test_two_channel_payments_to_one_recipient_are_paid_one_on_top_of_the_other(
        hub_chain: ChainEnv) -> None:
    payer, key = channel_of(token_user=10)
    recipient = channel_of(token_hub=10)[0]
    result = purchase_create(sender=payer.user, meta={}, payments=pay_items(
        payer, key, {"recipient": recipient.user, "type": "PT_CHANNEL", "token": 2},
        {"recipient": recipient.user, "type": "PT_CHANNEL", "token": 3}))
    first, second = (Payment.objects.get(pk=p.pk).disbursement for p in result.payments)
    assert [(u.tx_count_global, u.balance_token_hub, u.balance_token_user) for u in (first, second)] == [
        (2, 8, 1 + 2), (3, 5, 1 + 5)]


def test_a_channel_payment_to_a_merchants_address_with_a_channel_is_announced_to_the_merchant(
        hub_chain: ChainEnv) -> None:
    from payments.events.models import Event
    from payments.merchants.services import merchant_create

    payer, key = channel_of(token_user=10)
    receiving = channel_of(token_hub=10)[0]
    merchant = merchant_create(name="Shop", addresses=[receiving.user])
    result = purchase_create(sender=payer.user, meta={}, payments=pay_items(
        payer, key, {"recipient": receiving.user, "type": "PT_CHANNEL", "token": 2}))
    payment = Payment.objects.get(pk=result.payments[0].pk)
    assert payment.status == "completed" and payment.disbursement is not None
    assert list(Event.objects.filter(merchant=merchant).values_list("type", flat=True)) == [
        "payment.succeeded"]


def test_a_link_payments_own_secret_reaches_the_link_and_is_stored_nowhere(hub_chain: ChainEnv) -> None:
    from linkpay.models import Link

    payer, key = channel_of(token_user=10)
    secret = "s" * 40
    result = purchase_create(sender=payer.user, meta={}, payments=pay_items(
        payer, key, {"recipient": "0x" + "00" * 20, "type": "PT_LINK", "token": 3,
                     "meta": {"secret": secret}}))
    payment = Payment.objects.get(pk=result.payments[0].pk)
    assert Link.objects.filter(payment=payment).count() == 1
    assert secret not in str(payment.meta) and secret not in str(Purchase.objects.get().meta)


# --- what a purchase locks, and the keys it takes under the lock ------------------------------

def _writes(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if "ops_globalswitches" not in q["sql"]
            and q["sql"].lstrip().upper().startswith(("WITH", "INSERT", "UPDATE"))]


def test_a_payment_to_oneself_is_two_states_in_the_one_channel_written_in_one_statement(
        hub_chain: ChainEnv) -> None:
    """The payer is also the recipient: their channel takes the payment to the hub and the
    hub's payment back, and both keys are taken with the lock (a key too few would send the
    second state in a statement of its own)."""
    payer, key = channel_of(token_user=10, token_hub=10)
    items = pay_items(payer, key, {"recipient": payer.user, "type": "PT_CHANNEL", "token": 3})
    before = last_key(ChannelUpdate)
    with CaptureQueriesContext(connection) as queries:
        result = purchase_create(sender=payer.user, meta={}, payments=items)
    assert len(_writes(queries)) == 1, "\n".join(w[:120] for w in _writes(queries))
    assert last_key(ChannelUpdate) - before == 2
    [payment] = result.payments
    assert (payment.status, payment.recipient) == ("completed", payer.user)
    latest = channel_state(Channel.objects.get(pk=payer.pk), payer.user)
    assert (latest.tx_count_global, latest.balance_token_user, latest.balance_token_hub) == (3, 10, 10)


def test_a_purchase_locks_no_channel_for_a_custodial_recipient_or_for_the_hub(hub_chain: ChainEnv) -> None:
    """Only PT_CHANNEL/PT_OPTIMISTIC recipients other than the hub have their channels locked:
    a custodial recipient without a channel gets none (locking creates a missing channel), and
    no key is taken for a state nobody writes."""
    payer, key = channel_of(token_user=10)
    shop = "0x" + secrets.token_hex(20)
    items = pay_items(payer, key, {"recipient": shop, "type": "PT_CUSTODIAL", "token": 2},
                      {"recipient": hub_address(), "type": "PT_CHANNEL", "token": 3})
    before = {model: last_key(model) for model in (ChannelUpdate, Payment)}
    purchase_create(sender=payer.user, meta={}, payments=items)
    assert not Channel.objects.filter(user__in=[shop, hub_address().lower()]).exists()
    assert {model: last_key(model) - before[model] for model in before} == {ChannelUpdate: 2, Payment: 2}
    assert ChannelUpdate.objects.filter(channel=payer).count() == 3


def test_a_payer_with_an_open_proposal_gets_it_in_the_purchase_answer(hub_chain: ChainEnv) -> None:
    """The lock reads whether the payer's channel has an open proposal; the answer's sync then
    carries it (a payer without one is answered without looking it up)."""
    from hub.channels.proposals import channel_propose_hub_deposit

    payer, key = channel_of(token_user=10)
    with transaction.atomic():
        proposal = channel_propose_hub_deposit(user=payer.user, wei=0, token=5)
    assert proposal is not None
    items = pay_items(payer, key, {"recipient": hub_address(), "type": "PT_CHANNEL", "token": 1})
    result = purchase_create(sender=payer.user, meta={}, payments=items)
    assert result.payer_has_open_proposal is True
