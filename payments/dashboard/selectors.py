"""Reads behind the dashboard pages: tenant-scoped (every query filters by the merchant),
annotated with the rate of the time, no N+1."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import (
    Case,
    CharField,
    DecimalField,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    TextField,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from hub.channels.models import ChannelUpdate
from hub.core.state import AMOUNT_FIELDS
from hub.purchases.models import Payment
from payments.dashboard.money import Money, rate_then, rate_time_then
from payments.events.models import Event
from payments.invoices.models import Invoice
from payments.merchants.models import Membership
from payments.merchants.selectors import merchant_addresses
from payments.refunds.models import Refund


def memberships_of(user: Any) -> list[Membership]:
    return list(Membership.objects.filter(user=user).select_related("merchant").order_by("merchant__name", "id"))


def membership_for(user: Any, merchant_id: int | None) -> Membership | None:
    rows = Membership.objects.filter(user=user).select_related("merchant")
    if merchant_id is not None:
        found = rows.filter(merchant_id=merchant_id).first()
        if found is not None:
            return found
    return rows.order_by("id").first()


# --- payments -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class PaymentFilters:
    status: str = ""
    type: str = ""
    asset: str = ""
    start: date | None = None
    end: date | None = None  # inclusive
    q: str = ""
    meta: tuple[str, str] | str = ""  # ("key", "value") for containment, or text
    sort: str = ""  # one of PAYMENT_ORDER's keys


# the sortable columns: whitelisted orderings, each ending in a unique tie-breaker
PAYMENT_ORDER: dict[str, tuple[str, ...]] = {
    "created": ("created_at", "id"), "-created": ("-created_at", "-id"),
    "amount": ("amount_wei", "amount_token", "id"), "-amount": ("-amount_wei", "-amount_token", "-id"),
    "status": ("shown_status", "-created_at", "-id"), "-status": ("-shown_status", "-created_at", "-id"),
}


def meta_match(meta: tuple[str, str] | str) -> Q:
    """key=value: JSONB containment (`meta @> {"key": "value"}`, also the number when the value
    is one); text: a case-insensitive match anywhere in the metadata's JSON text."""
    if isinstance(meta, tuple):
        key, value = meta
        match = Q(meta__contains={key: value})
        if re.fullmatch(r"-?[0-9]{1,18}", value):
            match |= Q(meta__contains={key: int(value)})
        return match
    return Q(meta_text__icontains=meta)


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


def payment_asset(payment: Payment) -> str:
    return "token" if int(payment.amount_token or 0) > 0 else "wei"


def payment_money(payment: Payment) -> Money:
    asset = payment_asset(payment)
    amount = int(payment.amount_token if asset == "token" else payment.amount_wei)
    rate = getattr(payment, "rate_then", None)
    return Money(amount, asset, Decimal(rate) if rate is not None else None,
                 getattr(payment, "rate_time_then", None))


# What a merchant sees as a payment's status: the payment's own, or how much of it was refunded.
PAYMENT_STATUS_LABELS = {"completed": "Completed", "pending": "Pending", "refunded": "Refunded",
                         "partially_refunded": "Partially refunded"}
PAYMENT_STATUS_CHOICES = [("completed", "Completed"), ("pending", "Pending"),
                          ("partially_refunded", "Partially refunded"), ("refunded", "Refunded")]
_NUMERIC = DecimalField(max_digits=78, decimal_places=0)


def with_refunds(rows: QuerySet[Payment]) -> QuerySet[Payment]:
    """Each payment with `refunded` (base units of its asset refunded by succeeded refunds) and
    `shown_status`: "refunded" when all of it went back (or the hub returned it), "partially_refunded"
    when some did, else the payment's own status. One correlated sum on the refunds' payment index."""
    refunded = (Refund.objects.filter(payment_id=OuterRef("pk"), state=Refund.State.SUCCEEDED)
                .values("payment_id").annotate(total=Sum("amount")).values("total")[:1])
    rows = rows.annotate(refunded=Coalesce(Subquery(refunded, output_field=_NUMERIC), Value(0, output_field=_NUMERIC)),
                         paid=F("amount_wei") + F("amount_token"))
    return rows.annotate(shown_status=Case(
        When(status=Payment.Status.REFUNDED, then=Value("refunded")),
        When(refunded__gt=0, refunded__gte=F("paid"), then=Value("refunded")),
        When(refunded__gt=0, then=Value("partially_refunded")),
        default=F("status"), output_field=CharField()))


ADDRESS = re.compile(r"0x[0-9a-f]{40}")


def _status_prefilter(shown: str) -> Q:
    """What a payment shown with status `shown` must be (implied by with_refunds' rules), on
    indexed columns: the few payments with a succeeded refund, rather than every payment's
    refunded sum, for the refund statuses."""
    refunded = Q(pk__in=Refund.objects.filter(state=Refund.State.SUCCEEDED).values("payment_id"))
    if shown == "refunded":
        return Q(status=Payment.Status.REFUNDED) | refunded
    if shown == "partially_refunded":
        return refunded
    return Q(status=shown)


def payments_for_merchant(merchant_id: int, filters: PaymentFilters | None = None) -> QuerySet[Payment]:
    """Payments to any of the merchant's receiving addresses, newest first, each with the
    exchange rate of its time (`rate_then`, `rate_time_then`) and what was refunded of it
    (`refunded`, `shown_status`: see with_refunds)."""
    f = filters or PaymentFilters()
    rows = with_refunds(Payment.objects.filter(recipient__in=merchant_addresses(merchant_id)))
    if f.status:
        rows = rows.filter(_status_prefilter(f.status), shown_status=f.status)  # an annotation (with_refunds)
    if f.type:
        rows = rows.filter(type=f.type)
    if f.asset == "token":
        rows = rows.filter(amount_token__gt=0)
    elif f.asset == "wei":
        rows = rows.filter(amount_token=0)
    if f.start:
        rows = rows.filter(created_at__gte=day_start(f.start))
    if f.end:
        rows = rows.filter(created_at__lt=day_start(f.end + timedelta(days=1)))
    if f.q:
        q = f.q.strip()
        # addresses are stored lower-case (parse_address): a whole one is found on the index
        sender = q.lower()
        match = (Q(sender=sender) if ADDRESS.fullmatch(sender) else Q(sender__icontains=sender)) | Q(
            purchase_id=q) | Q(meta__invoiceId=q)
        if q.startswith("pay_"):
            match |= Q(public_id=q)
        rows = rows.filter(match)
    if f.meta:
        if not isinstance(f.meta, tuple):
            rows = rows.annotate(meta_text=Cast("meta", TextField()))
        rows = rows.filter(meta_match(f.meta))
    return rows.annotate(rate_then=rate_then("created_at"),
                         rate_time_then=rate_time_then("created_at")).order_by(
        *PAYMENT_ORDER.get(f.sort, PAYMENT_ORDER["-created"]))


PAYMENT_ID = re.compile(r"pay_[0-9a-f]{24}")


@dataclass(frozen=True)
class PaymentsPage:
    """One page of the payments list and the query strings of its neighbours ("" when there is
    none). No total: counting a million rows costs more than the page itself."""

    rows: list[Payment]
    previous_query: str
    next_query: str
    number: int | None = None  # pages by number (sorted by amount or status); None by time


def payments_page(merchant_id: int, filters: PaymentFilters, *, after: str = "", before: str = "",
                  page: int = 1, size: int = 50) -> PaymentsPage:
    """A page of `payments_for_merchant`. By time (the default): keyset pages, the rows after
    (or before) the payment `after` (`before`) of this merchant in the list's order, read
    straight off the recipient-and-time index at any depth. Sorted by amount or status: pages
    by number. Either way one row more than the page says whether there is a next one."""
    rows = payments_for_merchant(merchant_id, filters)
    if filters.sort in ("", "-created", "created"):
        newest_first = filters.sort != "created"
        cursor_id = before or after
        cursor = None
        if PAYMENT_ID.fullmatch(cursor_id):
            cursor = (Payment.objects.filter(recipient__in=merchant_addresses(merchant_id), public_id=cursor_id)
                      .values_list("created_at", "id").first())
        if cursor is None:
            found = list(rows[:size + 1])
            return PaymentsPage(found[:size], "", f"after={found[size - 1].public_id}" if len(found) > size else "")
        at, pk = cursor
        # the rows further along the list than the cursor (`after`) or before it (`before`)
        forward = bool(after) and not before
        older = forward == newest_first
        if older:
            rows = rows.filter(Q(created_at__lt=at) | Q(id__lt=pk), created_at__lte=at)
        else:
            rows = rows.filter(Q(created_at__gt=at) | Q(id__gt=pk), created_at__gte=at)
        if not forward:
            rows = rows.reverse()
        found = list(rows[:size + 1])
        more = len(found) > size
        found = found[:size]
        if not forward:
            found.reverse()
        if not found:
            return PaymentsPage([], "", "")
        first, last = found[0].public_id, found[-1].public_id
        return PaymentsPage(found, f"before={first}" if (more or forward) else "",
                            f"after={last}" if (more or not forward) else "")
    page = max(page, 1)
    found = list(rows[(page - 1) * size:page * size + 1])
    return PaymentsPage(found[:size], f"page={page - 1}" if page > 1 else "",
                        f"page={page + 1}" if len(found) > size else "", page)


def payment_for_merchant(merchant_id: int, payment_id: str) -> Payment | None:
    """The merchant's payment with this public id (`pay_…`), or None."""
    if not PAYMENT_ID.fullmatch(payment_id):
        return None  # whatever the URL held (NUL, surrogates) never reaches the database
    return (
        payments_for_merchant(merchant_id)
        .select_related("payer_update__channel", "disbursement__channel", "refund_update__channel")
        .filter(public_id=payment_id).first()
    )


# --- the receipt: the signed channel state that carried a payment -------------------------------

STATE_FIELDS = (
    ("contractAddress", None), ("user", None), ("recipient", "recipient"),
    *((key, attr) for attr, key in AMOUNT_FIELDS),  # the channel's amount fields (hub/core/state.py)
    ("txCountGlobal", "tx_count_global"), ("txCountChain", "tx_count_chain"),
    ("threadRoot", "thread_root"), ("threadCount", "thread_count"), ("timeout", "timeout"),
)


@dataclass
class SignedStateReceipt:
    role: str  # "payer's state" | "hub's payout state"
    update: ChannelUpdate
    fields: list[tuple[str, str]]
    state_hash: str
    computed_hash: str
    hash_ok: bool
    sig_hub: str
    sig_user: str
    hub_signer: str | None
    user_signer: str | None
    hub_address: str | None
    checks: list[tuple[str, bool]] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        """True only when every check passed against the hub's own address."""
        return self.hub_address is not None and bool(self.checks) and all(ok for _, ok in self.checks)

    @property
    def verdict(self) -> str:
        """'verified', 'failed' (a check failed), or 'unverifiable' (every check that could run
        passed, but this server does not know the hub's address to check the hub's signature)."""
        if any(not ok for _, ok in self.checks):
            return "failed"
        return "verified" if self.verified else "unverifiable"

    def as_json(self) -> dict[str, Any]:
        return {"role": self.role, "reason": self.update.reason, "state": dict(self.fields),
                "stateHash": self.state_hash, "sigHub": self.sig_hub, "sigUser": self.sig_user}


def _recover(state_hash: str, signature: str | None) -> str | None:
    from hub.core.errors import UpdateRejected
    from hub.core.signing import recover

    if not signature:
        return None
    try:
        return recover(state_hash, signature)
    except UpdateRejected:
        return None


def _hub_address() -> str | None:
    """The hub's address, from its key. None when this process has no usable hub key: then the
    hub's signature cannot be verified (any key's signature recovers to *some* address)."""
    from hub.chain.signer import SignerError, hub_address

    try:
        return hub_address().lower()
    except SignerError:
        return None


def signed_state_receipt(update: ChannelUpdate, role: str) -> SignedStateReceipt:
    """The state's fields as the contract hashes them, and the server-side verification:
    the hash recomputed from the fields, and the addresses both signatures recover to."""
    from hub.core.hashing import channel_state_hash

    state = update.state
    values: list[tuple[str, str]] = []
    for name, attr in STATE_FIELDS:
        if attr is None:
            values.append((name, state.contract_address if name == "contractAddress" else state.user))
        else:
            values.append((name, str(getattr(update, attr))))
    computed = channel_state_hash(state)
    hub = _hub_address()
    hub_signer = _recover(update.state_hash, update.sig_hub)
    user_signer = _recover(update.state_hash, update.sig_user)
    checks = [("the state hash recomputed from these fields matches", computed == update.state_hash)]
    if hub is not None:
        checks.append(("the hub's signature recovers to the hub's address",
                       hub_signer is not None and hub_signer == hub))
    checks.append(("the payer's signature recovers to the channel's user",
                   user_signer is not None and user_signer == state.user.lower()))
    return SignedStateReceipt(role, update, values, update.state_hash, computed,
                              computed == update.state_hash, update.sig_hub, update.sig_user or "",
                              hub_signer, user_signer, hub, checks)


def payment_receipts(payment: Payment) -> list[SignedStateReceipt]:
    receipts = ([] if payment.payer_update is None  # PT_CHECKOUT: paid on chain, no channel state
                else [signed_state_receipt(payment.payer_update, "The payer's signed state")])
    if payment.disbursement is not None:
        receipts.append(signed_state_receipt(payment.disbursement, "The hub's state paying it out"))
    return receipts


# --- invoices, refunds, events ------------------------------------------------------------------

def invoices_for_merchant(merchant_id: int, *, state: str = "", asset: str = "",
                          start: date | None = None, end: date | None = None,
                          q: str = "") -> QuerySet[Invoice]:
    rows = Invoice.objects.filter(merchant_id=merchant_id)
    if state:
        rows = rows.filter(state=state)
    if asset:
        rows = rows.filter(asset=asset)
    if start:
        rows = rows.filter(created_at__gte=day_start(start))
    if end:
        rows = rows.filter(created_at__lt=day_start(end + timedelta(days=1)))
    if q:
        q = q.strip()
        rows = rows.filter(Q(public_id=q) | Q(order_id__icontains=q) | Q(description__icontains=q))
    return rows.annotate(rate_then=rate_then("created_at"),
                         rate_time_then=rate_time_then("created_at")).order_by("-id")


def invoice_money(invoice: Invoice, amount: int | None = None) -> Money:
    rate = getattr(invoice, "rate_then", None)
    return Money(int(invoice.amount if amount is None else amount), invoice.asset,
                 Decimal(rate) if rate is not None else None, getattr(invoice, "rate_time_then", None))


def _created_between(rows: QuerySet[Any], start: date | None, end: date | None) -> QuerySet[Any]:
    if start:
        rows = rows.filter(created_at__gte=day_start(start))
    if end:
        rows = rows.filter(created_at__lt=day_start(end + timedelta(days=1)))
    return rows


def refunds_for_merchant(merchant_id: int, *, state: str = "", start: date | None = None,
                         end: date | None = None) -> QuerySet[Refund]:
    from hub.purchases.selectors import payment_public_id_of

    rows = Refund.objects.filter(merchant_id=merchant_id)
    if state:
        rows = rows.filter(state=state)
    return (_created_between(rows, start, end)
            .annotate(payment_public_id=payment_public_id_of()).order_by("-id"))


def events_after(merchant_id: int, after_id: int, *, limit: int = 50) -> list[Event]:
    """The merchant's events newer than `after_id`, oldest first (the polling fallback)."""
    return list(Event.objects.filter(merchant_id=merchant_id, pk__gt=after_id).order_by("id")[:limit])


def last_event_id(merchant_id: int) -> int:
    return Event.objects.filter(merchant_id=merchant_id).order_by("-id").values_list("id", flat=True).first() or 0
