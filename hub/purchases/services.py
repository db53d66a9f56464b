"""Purchases: a user pays the hub in their channel, and the hub pays each recipient (in the
recipient's channel, into a custodial balance, into a link, or later when collateral arrives).

A purchase is one database transaction: every payment in it happens or none does. Channels are
locked in one order (lowest id first) so two purchases touching the same channels cannot
deadlock, and the hub's hot path does one signature check per payment and one hub signature per
state it signs."""

from __future__ import annotations

import functools
import logging
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone

from hub.channels import records as channels
from hub.channels.errors import ChannelError
from hub.channels.locks import channels_lock
from hub.channels.models import Channel, ChannelUpdate
from hub.collateral.services import collateral_request
from hub.core import (
    ChannelState,
    PaymentArgs,
    UpdateRejected,
    apply_update,
    parse_address,
    validate_signed_update,
)
from hub.core.state import ZERO_ADDRESS, parse_uint
from hub.custodial.services import custodial_credit, receives_custodially
from hub.ledger.accounts import OPTIMISTIC_FLOAT
from hub.ledger.accounts import optimistic as optimistic_account
from hub.ledger.services import post
from hub.purchases.listeners import payments_settled, recipient_lookups
from hub.purchases.models import Payment, Purchase
from hub.purchases.scrub import secrets_scrub
from hub.purchases.types import PaymentRequest, PaymentType, Purchasing, payment_type, register
from hub.threads.services import thread_find, thread_pay
from ops import clock, jobs
from ops.jsonbody import unstorable_text
from ops.models import GlobalSwitches
from ops.rows import new_row, rows_insert, rows_insert_later, rows_waiting

logger = logging.getLogger(__name__)

MAX_PAYMENTS_PER_PURCHASE = 50


class InsufficientCollateral(ChannelError):
    """The hub cannot forward a PT_CHANNEL payment: too little hub balance in the recipient's
    channel. A collateral top-up is requested; the client may retry or pay optimistically."""

    def __init__(self, recipient: str, amount_wei: int, amount_token: int) -> None:
        super().__init__("insufficient_collateral",
                         f"the hub has not enough collateral in {recipient}'s channel yet; "
                         "a top-up was requested", status=409)
        self.recipient, self.amount_wei, self.amount_token = recipient, amount_wei, amount_token


def new_purchase_id() -> str:
    return "pur_" + secrets.token_hex(16)


def meta_clean(meta: Any, where: str = "meta") -> dict[str, Any]:
    """A payer's meta, refused before anything is written when it cannot be stored (NUL, lone
    surrogates) or names an invoice with something other than a string."""
    if not isinstance(meta, Mapping):
        raise UpdateRejected("bad_args", f"{where} must be an object")
    problem = unstorable_text(meta)
    if problem is not None:
        raise UpdateRejected("bad_args", f"{where}: {problem}")
    for key in ("invoiceId", "invoice_id"):
        if key in meta and meta[key] is not None and not isinstance(meta[key], str):
            raise UpdateRejected("bad_args", f"{where}.{key} must be a string")
    return dict(meta)


def _link_secrets(meta: Mapping[str, Any], raw: Any) -> list[str | None]:
    """Per payment of the request, the link secret it names: its own `meta.secret`, else the
    purchase's `meta.secret` (some wallets put it there)."""
    shared = meta.get("secret")
    found: list[str | None] = []
    for item in raw if isinstance(raw, list) else []:
        own = item.get("meta") if isinstance(item, Mapping) else None
        secret = own.get("secret") if isinstance(own, Mapping) else None
        secret = secret if secret is not None else shared
        found.append(secret if isinstance(secret, str) else None)
    return found


def parse_payments(raw: Any, *, link_secrets: Sequence[str | None] = ()) -> list[PaymentRequest]:
    """The payments of a purchase request. `raw` has been scrubbed of link secrets
    (hub/purchases/scrub.py); `link_secrets` holds them by position."""
    if not isinstance(raw, list) or not raw:
        raise UpdateRejected("bad_args", "payments must be a non-empty list")
    if len(raw) > MAX_PAYMENTS_PER_PURCHASE:
        raise UpdateRejected("bad_args", f"at most {MAX_PAYMENTS_PER_PURCHASE} payments per purchase")
    out = []
    for index, item in enumerate(raw):
        if not isinstance(item, Mapping):
            raise UpdateRejected("bad_args", "each payment must be an object")
        amount = item.get("amount") or {}
        update = item.get("update") or {}
        if not isinstance(amount, Mapping) or not isinstance(update, Mapping):
            raise UpdateRejected("bad_args", "amount and update must be objects")
        ptype = item.get("type")
        handler = payment_type(ptype)
        if handler is None:
            raise UpdateRejected("bad_args", f"unknown payment type {ptype!r}")
        if handler.parse is not None:
            out.append(handler.parse(item, amount, update))
            continue
        if update.get("reason") != "Payment":
            raise UpdateRejected("bad_args", "each payment carries a user-signed Payment update")
        args = update.get("args") or {}
        wei = parse_uint(amount.get("amountWei", "0"), "amountWei")
        token = parse_uint(amount.get("amountToken", "0"), "amountToken")
        if not isinstance(args, Mapping) or args.get("recipient") != "hub" or (
                parse_uint(args.get("amountWei", "0"), "amountWei") != wei
                or parse_uint(args.get("amountToken", "0"), "amountToken") != token):
            raise UpdateRejected("bad_args", "the update must pay the hub exactly the amount")
        if wei == 0 and token == 0:
            raise UpdateRejected("bad_args", "a payment needs an amount")
        meta = meta_clean(item.get("meta") or {}, "payments[].meta")
        secret = link_secrets[index] if index < len(link_secrets) else None
        sig = update.get("sigUser")
        if not isinstance(sig, str):
            raise UpdateRejected("bad_signature", "each payment update needs sigUser")
        out.append(PaymentRequest(
            recipient=parse_address(item.get("recipient"), "recipient"), amount_wei=wei,
            amount_token=token, type=str(ptype), meta=dict(meta),
            tx_count=parse_uint(update.get("txCount"), "txCount"), sig_user=sig.lower(),
            secret=secret,
        ))
    return out


def parse_thread_payment(item: Mapping[str, Any], amount: Mapping[str, Any],
                         update: Mapping[str, Any]) -> PaymentRequest:
    """PT_THREAD: `update` is `{state}`, the sender's next thread state (BuyController)."""
    state = update.get("state")
    if not isinstance(state, Mapping):
        raise UpdateRejected("bad_args", "a thread payment carries update.state")
    meta = meta_clean(item.get("meta") or {}, "payments[].meta")
    wei = parse_uint(amount.get("amountWei", "0"), "amountWei")
    token = parse_uint(amount.get("amountToken", "0"), "amountToken")
    if wei == 0 and token == 0:
        raise UpdateRejected("bad_args", "a payment needs an amount")
    return PaymentRequest(recipient=parse_address(item.get("recipient"), "recipient"),
                          amount_wei=wei, amount_token=token, type="PT_THREAD",
                          meta=dict(meta), tx_count=0,
                          sig_user="", thread_state=state)


def lock_user_channels(users: Sequence[str]) -> dict[str, Channel]:
    """Lock the channels of `users`, creating rows as needed, in ascending id order."""
    return channels_lock(channels.contract_address(), users)


def _purchase_lock_also() -> tuple[str, ...]:
    """What a purchase reads with its lock (channels_lock's `also`), so that it needs no query
    of its own for it: what the delivery yield reads when it is on (`_yield_lock_also`), then
    what the payments listeners look up for each recipient (`recipient_lookups`)."""
    return (_yield_lock_also() if settings.DELIVERY_YIELD_MS else ()) + recipient_lookups()


def _listeners_known(locked: Mapping[str, Channel]) -> list[dict[str, Any]]:
    """Per listener lookup, its values for the locked channels' users (those read with the
    lock: `lock_also`), for `payments_settled`."""
    skip = len(_yield_lock_also()) if settings.DELIVERY_YIELD_MS else 0
    known: list[dict[str, Any]] = [{} for _sql in recipient_lookups()]
    for user, channel in locked.items():
        also = getattr(channel, "lock_also", None)
        if also is not None:
            for values, value in zip(known, also[skip:], strict=True):
                values[user] = value
    return known


@functools.cache
def _yield_lock_also() -> tuple[str, ...]:
    """The times of the user's two newest own Payments among the channel's last _PAYING_LOOKBACK
    updates, newest first (`_recipient_is_paying` reads no more: each time is a timestamp the web
    process parses), and whether the hub holds payments for the user
    (`_deliver_held_to_payer`)."""
    qn = connection.ops.quote_name
    updates, payments = qn(ChannelUpdate._meta.db_table), qn(Payment._meta.db_table)
    user = f"c.{qn('user')}"
    recent = (
        f"ARRAY(SELECT r.created_at FROM (SELECT originator, reason, created_at, tx_count_global "  # noqa: S608
        f"FROM {updates} WHERE channel_id = c.id ORDER BY tx_count_global DESC "
        f"LIMIT {int(_PAYING_LOOKBACK)}) r WHERE r.originator = {user} AND r.reason = 'Payment' "
        "ORDER BY r.tx_count_global DESC LIMIT 2)")  # the pace needs the last two, no more
    held = (f"EXISTS (SELECT 1 FROM {payments} h WHERE h.recipient = {user} "  # noqa: S608
            f"AND h.status = '{Payment.Status.PENDING.value}')")
    return recent, held


def _lock_purchase_channels(sender: str, requests: Sequence[PaymentRequest],
                            recipients: Sequence[str]) -> dict[str, Channel]:
    """`lock_user_channels` for a purchase, with what it also reads (`_purchase_lock_also`,
    when payments to a paying user are held: DELIVERY_YIELD_MS) and the keys of the rows it
    will write (a state per channel payment in the payer's channel and one per payment in each
    recipient's, a key per payment), so that they all go to the database in one statement."""
    also = _purchase_lock_also()
    updates: dict[str, int] = {sender: 0}
    for recipient in recipients:
        updates[recipient] = updates.get(recipient, 0) + 1
    updates[sender] += sum(1 for r in requests if payment_type(r.type).pay is None)  # type: ignore[union-attr]
    return channels_lock(channels.contract_address(), [sender, *recipients], also=also,
                         reserve=[(ChannelUpdate, updates), (Payment, {sender: len(requests)})])


def hub_pays(channel: Channel, prev: ChannelState, wei: int, token: int, memo: str) -> channels.Recorded | None:
    """A hub→user Payment in the user's channel (hub-signed; the user countersigns on sync), or
    None when the hub's balance there is short (or the channel is waiting on a timed operation)."""
    if channel.status != Channel.Status.OPEN or prev.timeout != 0:
        return None
    if prev.balance_wei_hub < wei or prev.balance_token_hub < token:
        return None
    args = PaymentArgs(recipient="user", amount_wei=wei, amount_token=token)
    new = apply_update(prev, "Payment", args, now=0)
    return channels.record_state(channel, prev, new, reason="Payment", args=args.to_json(),
                            originator=channels.hub_address())


def hub_pay_user(*, user: str, amount_wei: int, amount_token: int, memo: str) -> channels.Recorded | None:
    """Inside the caller's transaction: lock `user`'s channel and pay them from the hub's
    balance there (`hub_pays`); None when the hub cannot pay there now."""
    channel = lock_user_channels([user])[user]
    return hub_pays(channel, channels.channel_state(channel, user), amount_wei, amount_token,
                    memo=memo)


def register_payment_types() -> None:
    """The hub's own payment types (PurchasesConfig.ready(); linkpay registers PT_LINK)."""
    register(PaymentType("PT_CHANNEL", deliver=deliver_in_channel, locks_recipient_channel=True))
    register(PaymentType("PT_OPTIMISTIC", deliver=deliver_in_channel, locks_recipient_channel=True))
    register(PaymentType("PT_CUSTODIAL", deliver=deliver_custodial))
    register(PaymentType("PT_THREAD", pay=pay_thread, parse=parse_thread_payment))


@dataclass
class PurchaseResult:
    purchase: Purchase
    payments: list[Payment]
    first_tx_count: int
    payer_has_open_proposal: bool = True
    # payments the hub held for the payer while they were paying, delivered after their own
    # payments in this purchase (their states follow the payer's in the answer's sync)
    delivered: list[Payment] = field(default_factory=list)


def purchase_create(*, sender: str, meta: Any, payments: Any) -> PurchaseResult:
    """Apply a purchase atomically. Raises InsufficientCollateral (after requesting a top-up in
    its own transaction) when a PT_CHANNEL recipient cannot be paid yet."""
    if not GlobalSwitches.cached().payments_enabled:
        raise ChannelError("payments_disabled", "payments are switched off", status=503)
    sender = parse_address(sender, "sender")
    if not isinstance(meta, Mapping):
        raise UpdateRejected("bad_args", "meta must be an object")
    # The one entry of the purchase path: link secrets leave the request here, before anything is
    # parsed, stored, logged or echoed; from now on only PaymentRequest.secret holds one.
    link_secrets = _link_secrets(meta, payments)
    (meta, payments), _ = secrets_scrub([meta, payments])
    meta = meta_clean(meta)
    requests = parse_payments(payments, link_secrets=link_secrets)
    try:
        # rows_waiting: the purchase's row goes with the next statement (the payer's state)
        with transaction.atomic(), rows_waiting(), channels.channel_writes_batched():
            return _purchase_apply(sender, meta, requests)
    except InsufficientCollateral as short:
        _request_collateral_after_failure(short.recipient, short.amount_token)
        raise


def _purchase_apply(sender: str, meta: dict[str, Any], requests: list[PaymentRequest]) -> PurchaseResult:
    """Inside purchase_create's transaction (no savepoint of its own: one fewer round trip)."""
    hub = channels.hub_address()
    handlers = {r.type: payment_type(r.type) for r in requests}
    recipients = [r.recipient for r in requests
                  if handlers[r.type].locks_recipient_channel and r.recipient != hub]  # type: ignore[union-attr]
    locked = _lock_purchase_channels(sender, requests, recipients)
    payer = locked[sender]
    payment_keys = payer.reserved_keys[Payment]  # type: ignore[attr-defined]  # channels_lock(reserve=...)
    if payer.status != Channel.Status.OPEN:
        raise ChannelError("channel_not_open", "the payer's channel is not open", status=409)
    purchase = new_row(Purchase, id=new_purchase_id(), sender=sender, meta=meta)
    rows_insert_later([purchase])
    ctx = Purchasing(purchase=purchase, sender=sender, locked=locked)

    made: list[Payment] = []
    for req in requests:
        handler = handlers[req.type]
        assert handler is not None  # parse_payments refused unknown types
        if handler.pay is not None:
            made.append(handler.pay(ctx, req, {**meta, **req.meta}))
            continue
        prev = ctx.state_of(sender)
        if req.tx_count != prev.tx_count_global + 1:
            raise UpdateRejected("tx_count_global", f"txCount {req.tx_count} does not follow "
                                                    f"{prev.tx_count_global}")
        args = PaymentArgs(recipient="hub", amount_wei=req.amount_wei, amount_token=req.amount_token)
        new = apply_update(prev, "Payment", args, now=0).replace(sig_user=req.sig_user)
        validate_signed_update(prev, new, "Payment", args, hub_address=hub, now=0)
        paid = channels.record_state(payer, prev, new, reason="Payment", args=args.to_json(),
                                originator=sender)
        ctx.states[sender] = paid.state
        payment = new_row(Payment, purchase=purchase, sender=sender, recipient=req.recipient,
                          amount_wei=req.amount_wei, amount_token=req.amount_token, type=req.type,
                          meta={**meta, **req.meta}, payer_update=paid.update,
                          completed_at=timezone.now())
        if payment_keys:
            payment.pk = payment_keys.pop(0)
        if req.recipient == hub:
            rows_insert_later([payment])  # a payment to the hub itself: done
        else:
            assert handler.deliver is not None
            handler.deliver(ctx, payment, req)
        made.append(payment)
    delivered = _deliver_held_to_payer(ctx, payer) if settings.DELIVERY_YIELD_MS else []
    _after_commit([*made, *delivered], known=_listeners_known(locked))
    return PurchaseResult(purchase, made, requests[0].tx_count,
                          payer_has_open_proposal=payer.has_open_proposal,  # type: ignore[attr-defined]
                          delivered=delivered)


def pay_thread(ctx: Purchasing, req: PaymentRequest, meta: dict[str, Any]) -> Payment:
    """PT_THREAD: apply the sender's thread state; it must move exactly the payment's amount
    to the recipient. Non-custodial: nothing moves in the channels (the thread was funded by
    its OpenThread, which is the payment's `payer_update`)."""
    purchase, sender = ctx.purchase, ctx.sender
    thread = thread_find(sender=sender, receiver=req.recipient)
    if thread is None:
        raise ChannelError("thread_not_found", f"no open thread from {sender} to {req.recipient}",
                           status=404)
    before = thread.latest_state()
    row = thread_pay(sender=sender, receiver=req.recipient, state=req.thread_state)
    moved = (row.balance_wei_receiver - before.balance_wei_receiver,
             row.balance_token_receiver - before.balance_token_receiver)
    if moved != (req.amount_wei, req.amount_token):
        raise UpdateRejected("bad_args", "the thread state must move exactly the payment's amount")
    payment = Payment(purchase=purchase, sender=sender, recipient=req.recipient,
                      amount_wei=req.amount_wei, amount_token=req.amount_token, type=req.type,
                      meta=meta, payer_update=thread.sender_open_update,
                      completed_at=timezone.now())
    payment.save()
    return payment


def deliver_custodial(ctx: Purchasing, payment: Payment, req: PaymentRequest) -> None:
    """PT_CUSTODIAL: the hub keeps it as the recipient's custodial balance."""
    rows_insert([payment])
    custodial_credit(recipient=req.recipient, amount_wei=req.amount_wei,
                     amount_token=req.amount_token, memo=f"payment {payment.pk}")


def deliver_in_channel(ctx: Purchasing, payment: Payment, req: PaymentRequest) -> None:
    """PT_CHANNEL and PT_OPTIMISTIC: the hub pays the recipient in their channel. A recipient
    without a channel that receives custodially (hub/custodial/services.py: receive_custodially,
    e.g. a merchant's receiving address) gets a custodial credit. Otherwise, short of collateral,
    PT_CHANNEL is refused and PT_OPTIMISTIC is held until collateral arrives."""
    if req.recipient == ZERO_ADDRESS:
        raise UpdateRejected("bad_args", "only link payments go to the zero address")
    channel = ctx.locked[req.recipient]
    if req.type == "PT_CHANNEL" and _recipient_is_paying(channel) and _hub_can_hold_for(
            channel, ctx.state_of(req.recipient), req):
        _hold(payment, req, reason="recipient_paying")
        yield_ms = settings.DELIVERY_YIELD_MS
        recipient = req.recipient
        transaction.on_commit(lambda: jobs.send("deliver_held_payments", recipient,
                                                delay_ms=yield_ms))
        return
    forwarded = hub_pays(channel, ctx.state_of(req.recipient), req.amount_wei, req.amount_token,
                         memo=f"payment to {req.recipient}")
    if forwarded is not None:
        ctx.states[req.recipient] = forwarded.state
        payment.disbursement = forwarded.update
        rows_insert_later([payment])
        return
    if channel.latest_update_id is None and receives_custodially(req.recipient):
        # A receiver that has no channel (a merchant's receiving address): kept custodially,
        # as a PT_CUSTODIAL payment would be, instead of refused for want of collateral.
        payment.meta = {**payment.meta, "deliveredAs": "PT_CUSTODIAL"}
        deliver_custodial(ctx, payment, req)
        return
    if req.type == "PT_CHANNEL":
        raise InsufficientCollateral(req.recipient, req.amount_wei, req.amount_token)
    # PT_OPTIMISTIC without collateral: the hub holds it until collateral exists, or refunds it.
    _hold(payment, req, reason="collateral")


def _hold(payment: Payment, req: PaymentRequest, *, reason: str) -> None:
    """The hub keeps the payment (ledger: its own hold account) until it can deliver it
    (`optimistic_forward`, the purchase's `_deliver_held_to_payer`); refunded when it expires."""
    payment.status = Payment.Status.PENDING
    payment.completed_at = None
    payment.expires_at = clock.now() + timedelta(seconds=settings.OPTIMISTIC_PAYMENT_TTL_SECONDS)
    rows_insert([payment])
    post([(optimistic_account(payment.pk), "wei", req.amount_wei),
          (OPTIMISTIC_FLOAT, "wei", -req.amount_wei),
          (optimistic_account(payment.pk), "token", req.amount_token),
          (OPTIMISTIC_FLOAT, "token", -req.amount_token)], memo=f"payment {payment.pk} held ({reason})")


# How far back a channel's history is read to tell whether its user is paying right now.
_PAYING_LOOKBACK = 16  # a paying user's own payments, with what the hub paid them between
# The window stretches with the user's own pace, up to this many pauses.
_PAYING_MAX_PAUSES = 5


def _recipient_is_paying(channel: Channel, *, pauses: int = 1) -> bool:
    """Whether the channel's user is paying: a Payment of their own within the window. A wallet
    in the middle of paying signs its next payment on its latest state, and a hub payment signed
    into the channel now would take that txCount and get the payment refused. The window is
    DELIVERY_YIELD_MS, or twice the time between the user's last two payments when that is longer
    (a wallet on a slow link or a loaded hub pays at a slower pace), at most five pauses; times
    `pauses`. Countersigning the hub's proposals (a top-up, an exchange) is not paying."""
    yield_ms = settings.DELIVERY_YIELD_MS
    if not yield_ms or channel.latest_update_id is None:
        return False
    now = timezone.now()
    base = timedelta(milliseconds=yield_ms)
    head = channel._state.fields_cache.get("latest_update")  # loaded with the lock, when it was
    if head is not None and head.pk == channel.latest_update_id:
        if head.created_at < now - pauses * _PAYING_MAX_PAUSES * base:
            return False  # nothing in the channel is that recent: no query
        if (head.originator == channel.user and head.reason == "Payment"
                and head.created_at > now - pauses * base):
            return True
    also = getattr(channel, "lock_also", None)
    if also:  # read with the lock (_purchase_lock_also)
        own = list(also[0])
    else:
        recent = (ChannelUpdate.objects.filter(channel=channel).order_by("-tx_count_global")
                  .values_list("originator", "reason", "created_at")[:_PAYING_LOOKBACK])
        own = [at for originator, reason, at in recent
               if originator == channel.user and reason == "Payment"]
    if not own:
        return False
    window = base
    if len(own) >= 2:
        window = min(max(base, 2 * (own[0] - own[1])), _PAYING_MAX_PAUSES * base)
    return now - own[0] < pauses * window


def _hub_can_hold_for(channel: Channel, prev: ChannelState, req: PaymentRequest) -> bool:
    """A PT_CHANNEL payment is held only when the hub could pay it now, counting what it already
    holds for the same recipient (so that holding never turns a refusal into a wait)."""
    if channel.status != Channel.Status.OPEN or prev.timeout != 0:
        return False
    held = Payment.objects.filter(recipient=req.recipient, status=Payment.Status.PENDING).aggregate(
        wei=Sum("amount_wei"), token=Sum("amount_token"))
    return (prev.balance_wei_hub >= req.amount_wei + int(held["wei"] or 0)
            and prev.balance_token_hub >= req.amount_token + int(held["token"] or 0))


def _deliver_held_to_payer(ctx: Purchasing, payer: Channel) -> list[Payment]:
    """Inside a purchase, after the payer's own payments: deliver what the hub holds for the
    payer (payments made to them while they were paying), in their channel that is locked
    already. Rows another process is delivering are skipped (no wait, no lock-order cycle)."""
    also = getattr(payer, "lock_also", None)
    if also and not also[1]:
        return []  # the lock's read found nothing held for the payer (_purchase_lock_also)
    held = list(Payment.objects.select_for_update(skip_locked=True)
                .filter(recipient=ctx.sender, status=Payment.Status.PENDING).order_by("id")[:50])
    delivered: list[Payment] = []
    for payment in held:
        forwarded = hub_pays(payer, ctx.state_of(ctx.sender), payment.amount_wei,
                             payment.amount_token, memo=f"held payment {payment.pk}")
        if forwarded is None:
            break
        ctx.states[ctx.sender] = forwarded.state
        _release_hold(payment)
        payment.status = Payment.Status.COMPLETED
        payment.disbursement = forwarded.update
        payment.completed_at = timezone.now()
        payment.save(update_fields=["status", "disbursement", "completed_at"])
        delivered.append(payment)
    return delivered


def deliver_held(*, recipient: str) -> int:
    """The worker's delivery of payments held for `recipient` (after the pause, when no purchase
    of theirs delivered them): each exactly once, through `optimistic_forward`. A delivery now
    would race the recipient's next payment as much as an immediate one would have: while the
    recipient paid within the last three pauses, and the payments are younger than ten, it waits
    another pause (their next purchase delivers them meanwhile). Returns how many were delivered."""
    yield_ms = settings.DELIVERY_YIELD_MS
    ids = list(Payment.objects.filter(recipient=recipient, status=Payment.Status.PENDING)
               .order_by("id").values_list("id", "created_at"))
    if not ids:
        return 0
    channel = channels.channel_find(recipient)
    oldest = ids[0][1]
    if (yield_ms and channel is not None and _recipient_is_paying(channel, pauses=3)
            and timezone.now() - oldest < timedelta(milliseconds=10 * yield_ms)):
        jobs.send("deliver_held_payments", recipient, delay_ms=yield_ms)
        return 0
    return sum(1 for payment_id, _at in ids if optimistic_forward(payment_id=payment_id))


def _after_commit(made: list[Payment], known: list[dict[str, Any]]) -> None:
    """Side effects of a committed purchase: collateral for recipients that need it, invoices,
    merchant events (each through its own idempotent path)."""
    # A top-up is requested when a payment takes the hub's balance in the recipient's channel
    # below the floor (once per crossing, not on every later payment) and for held optimistic
    # payments; a refused PT_CHANNEL payment requests one itself, and a periodic actor looks
    # after recipients that many payers pay.
    # The policy's minimum grows with the recipient's inflow (hub/collateral/limits.py), which
    # the hot path does not read: the worker checks each time a payment takes the hub's balance
    # across a multiple of the floor (at most once per floor's worth delivered).
    floor = max(1, settings.COLLATERAL_FLOOR_TOKENS * 10**18)
    needs_collateral = {
        p.recipient for p in made
        if (p.type == "PT_OPTIMISTIC" and p.status == Payment.Status.PENDING)
        or (p.disbursement is not None and p.amount_token > 0
            and p.disbursement.balance_token_hub // floor
            != (p.disbursement.balance_token_hub + p.amount_token) // floor)
    }
    if needs_collateral:
        recipients = sorted(needs_collateral)
        transaction.on_commit(lambda: jobs.send("collateralize_recipients", recipients))
    payments_settled(made, known)


def _request_collateral_after_failure(recipient: str, amount_token: int) -> None:
    try:
        collateral_request(user=recipient, target=amount_token)
    except (ChannelError, UpdateRejected) as exc:
        logger.info("collateral for %s not requested: %s", recipient, exc)


# --- optimistic payments: forward when collateral arrives, refund when they expire ---------------

def optimistic_forward(*, payment_id: int) -> bool:
    """Forward a held optimistic payment if the recipient's channel can take it now. Exactly
    once: the payment row is locked and must still be pending."""
    with transaction.atomic():
        payment = Payment.objects.select_for_update().filter(
            pk=payment_id, status=Payment.Status.PENDING).first()
        if payment is None:
            return False
        locked = lock_user_channels([payment.recipient])
        channel = locked[payment.recipient]
        prev = channels.channel_state(channel, payment.recipient)
        forwarded = hub_pays(channel, prev, payment.amount_wei, payment.amount_token,
                              memo=f"optimistic payment {payment.pk}")
        if forwarded is None:
            return False
        _release_hold(payment)
        payment.status = Payment.Status.COMPLETED
        payment.disbursement = forwarded.update
        payment.completed_at = timezone.now()
        payment.save(update_fields=["status", "disbursement", "completed_at"])
        payments_settled([payment])
        return True


def optimistic_refund(*, payment_id: int, now: Any = None) -> bool:
    """Return an expired optimistic payment to its payer (hub→payer Payment). Exactly once."""
    now = now or clock.now()
    with transaction.atomic():
        payment = Payment.objects.select_for_update().filter(
            pk=payment_id, status=Payment.Status.PENDING, expires_at__lte=now).first()
        if payment is None:
            return False
        locked = lock_user_channels([payment.sender])
        channel = locked[payment.sender]
        prev = channels.channel_state(channel, payment.sender)
        refunded = hub_pays(channel, prev, payment.amount_wei, payment.amount_token,
                             memo=f"optimistic payment {payment.pk} refunded")
        if refunded is None:
            return False  # the payer's channel is busy (timed operation); next sweep
        _release_hold(payment)
        payment.status = Payment.Status.REFUNDED
        payment.refund_update = refunded.update
        payment.completed_at = timezone.now()
        payment.save(update_fields=["status", "refund_update", "completed_at"])
        return True


def _release_hold(payment: Payment) -> None:
    post([(optimistic_account(payment.pk), "wei", -payment.amount_wei),
          (OPTIMISTIC_FLOAT, "wei", payment.amount_wei),
          (optimistic_account(payment.pk), "token", -payment.amount_token),
          (OPTIMISTIC_FLOAT, "token", payment.amount_token)],
         memo=f"optimistic payment {payment.pk} released")


def optimistic_sweep(*, limit: int = 200) -> tuple[int, int]:
    """Forward what can be forwarded; refund what expired. Returns (forwarded, refunded).
    PT_CHANNEL payments held for a paying recipient are left to their next purchase and to
    `deliver_held` while they are young (ten pauses): delivering them now would race it."""
    forwarded = refunded = 0
    now = clock.now()
    pending = Payment.objects.filter(status=Payment.Status.PENDING)
    if settings.DELIVERY_YIELD_MS:
        young = timezone.now() - timedelta(milliseconds=10 * settings.DELIVERY_YIELD_MS)
        pending = pending.exclude(type="PT_CHANNEL", created_at__gt=young)
    for payment_id in pending.order_by("id").values_list("id", flat=True)[:limit]:
        if optimistic_forward(payment_id=payment_id):
            forwarded += 1
        elif optimistic_refund(payment_id=payment_id, now=now):
            refunded += 1
    return forwarded, refunded


def payment_json(p: Payment) -> dict[str, Any]:
    return {
        "id": p.public_id, "purchaseId": p.purchase_id, "sender": p.sender, "recipient": p.recipient,
        "amount": {"amountWei": str(p.amount_wei), "amountToken": str(p.amount_token)},
        "type": p.type, "status": p.status, "meta": p.meta,
        "createdOn": p.created_at.isoformat(),
    }
