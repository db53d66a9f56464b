from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from hub.chain.models import ChainTransactionAttempt
from hub.purchases.models import Payment
from payments import conf, fiat
from payments.invoices.models import InvoicePayment
from payments.merchants.selectors import merchant_addresses
from payments.received.selectors import received_payments_by_id
from payments.refunds.models import Refund
from payments.settlements.models import Settlement


def settlements_for_merchant(merchant_id: int, *, status: str | None = None, start: date | None = None,
                             end: date | None = None) -> QuerySet[Settlement]:
    """The merchant's settlements, newest first; `start`/`end` are days of the current time zone
    (both included)."""
    rows = (
        Settlement.objects.filter(merchant_id=merchant_id)
        .select_related("chain_transaction")
        .prefetch_related(Prefetch("chain_transaction__attempts",
                                   queryset=ChainTransactionAttempt.objects.order_by("id")))
    )
    if status:
        rows = rows.filter(state=status)
    zone = timezone.get_current_timezone()
    if start:
        rows = rows.filter(created_at__gte=datetime.combine(start, time.min, tzinfo=zone))
    if end:
        rows = rows.filter(created_at__lt=datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone))
    return rows.order_by("-id")


# --- the itemised report: what a settlement covers ---------------------------------------------

REPORT_COLUMNS = ["kind", "id", "time", "asset", "amount_base_units", "fiat_currency", "fiat_value",
                  "fiat_rate", "fiat_rate_source", "fiat_rate_at", "invoice_id", "note"]


def settlement_report(settlement: Settlement) -> list[list[Any]]:
    """The lines a settlement covers, for the merchant's books: every payment received and refund
    paid in its asset since the previous settlement of that asset (not failed) up to this one, the
    platform fees (none are charged: a zero line says so), the settlement itself, and the balance
    before and after. Amounts in base units (payments positive, refunds and the payout negative);
    fiat values as recorded when each happened (a payment recorded before its value was kept is
    valued at the rate of its time, and its note says so)."""
    asset = settlement.asset
    previous = (Settlement.objects.filter(merchant_id=settlement.merchant_id, asset=asset,
                                          id__lt=settlement.pk).exclude(state=Settlement.State.FAILED)
                .order_by("-id").first())
    since = previous.created_at if previous is not None else None
    until = settlement.created_at
    payments = Payment.objects.filter(recipient__in=merchant_addresses(settlement.merchant_id),
                                      status=Payment.Status.COMPLETED, created_at__lte=until)
    payments = payments.filter(amount_token__gt=0) if asset == "token" else payments.filter(amount_token=0)
    refunds = Refund.objects.filter(merchant_id=settlement.merchant_id, asset=asset,
                                    state=Refund.State.SUCCEEDED, completed_at__lte=until)
    if since is not None:
        payments = payments.filter(created_at__gt=since)
        refunds = refunds.filter(completed_at__gt=since)
    invoices = dict(InvoicePayment.objects.filter(source="hub", payment_id__in=payments.values("id"))
                    .values_list("payment_id", "invoice__public_id"))
    recorded = received_payments_by_id(payments.values_list("id", flat=True))
    lines: list[list[Any]] = []
    total = 0
    for p in payments.order_by("created_at", "id"):
        amount = int(p.amount_token if asset == "token" else p.amount_wei)
        total += amount
        row = recorded.get(p.pk)
        note = p.type
        if row is not None:
            record = _fiat_record(row)
        else:
            record = fiat.record_fields(amount, asset, at=p.created_at, currency=conf.FIAT_BOOKS_CURRENCY)
            note = f"{p.type}; no recorded value: valued at the rate of its time"
        lines.append(["payment", p.public_id, p.created_at, asset, amount, *_fiat_cells(record),
                      invoices.get(p.pk, ""), note])
    for r in refunds.order_by("completed_at", "id"):
        total -= int(r.amount)
        record = _fiat_record(r)
        lines.append(["refund", r.public_id, r.completed_at, asset, -int(r.amount), *_fiat_cells(record, -1),
                      r.invoice.public_id if r.invoice is not None else "", r.reason])
    lines.append(["fee", "", until, asset, 0, conf.FIAT_BOOKS_CURRENCY, Decimal("0.00"), "", "", "", "",
                  "no platform fee is charged"])
    record = _fiat_record(settlement)
    lines.append(["settlement", settlement.public_id, until, asset, -int(settlement.amount),
                  *_fiat_cells(record, -1), "", f"paid out to {settlement.payout_address} ({settlement.state})"])
    lines.append(["balance_change", "", until, asset, total - int(settlement.amount), "", "", "", "", "", "",
                  "received minus refunded minus this settlement: what stayed in (or came from) the balance"])
    return lines


def _fiat_record(row: Any) -> dict[str, Any]:
    """A FiatRecord row's stored columns."""
    return {"fiat_currency": row.fiat_currency, "fiat_value": row.fiat_value, "fiat_rate": row.fiat_rate,
            "fiat_rate_source": row.fiat_rate_source, "fiat_rate_at": row.fiat_rate_at}


def _fiat_cells(record: dict[str, Any], sign: int = 1) -> list[Any]:
    value = record.get("fiat_value")
    return [record.get("fiat_currency", ""), None if value is None else (sign * value).quantize(Decimal("0.01")),
            "" if record.get("fiat_rate") is None else f"{record['fiat_rate'].normalize():f}",
            record.get("fiat_rate_source", ""), record.get("fiat_rate_at")]
