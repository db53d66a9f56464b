"""CSV exports of payments, invoices and settlements for a date range (days of the merchant's time zone, inclusive; timestamps in ISO 8601 with their offset).

Each row carries the amount twice (human units and exact base units). Payments carry their fiat
value at the rate of the time (`fiat_usd`, from the ETH/DAI rate then) and, in the books'
columns (`fiat_currency`, `fiat_value`, `fiat_rate_source`), the value recorded when the payment
arrived (payments.received; empty for a payment recorded before those values were kept);
settlements carry their recorded fiat value. Cells that a spreadsheet would run as a formula are prefixed
with a quote (CSV injection: descriptions and order ids are typed by shop backends)."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import OuterRef, Subquery

from ops.replica import reading_alias
from payments.dashboard.money import Money
from payments.dashboard.selectors import (
    PaymentFilters,
    day_start,
    invoice_money,
    invoices_for_merchant,
    payment_money,
    payments_for_merchant,
)
from payments.invoices.selectors import invoice_overpaid, invoice_paid_late
from payments.received.models import ReceivedPayment
from payments.settlements.selectors import settlements_for_merchant

PAYMENT_COLUMNS = ["id", "created_at", "type", "status", "sender", "recipient", "asset", "amount",
                   "amount_base_units", "fiat_usd", "rate_eth_dai", "rate_retrieved_at", "purchase_id",
                   "invoice_id", "refunded", "refunded_base_units", "fiat_currency", "fiat_value",
                   "fiat_rate_source"]
INVOICE_COLUMNS = ["id", "created_at", "state", "asset", "amount", "amount_base_units",
                   "amount_received", "amount_received_base_units", "fiat_usd", "order_id",
                   "description", "pay_to", "expires_at", "paid_at", "currency", "price", "rate",
                   "rate_source", "rate_at", "amount_overpaid_base_units", "paid_late"]
SETTLEMENT_COLUMNS = ["id", "created_at", "state", "asset", "amount", "amount_base_units",
                      "payout_address", "automatic", "transaction_hash", "completed_at", "failure_reason",
                      "fiat_currency", "fiat_value", "fiat_rate_source"]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _fiat(value: Decimal | None) -> str:
    return "" if value is None else f"{value:.2f}"


def payment_rows(merchant_id: int, start: date, end: date) -> Iterator[list[Any]]:
    rows = payments_for_merchant(merchant_id, PaymentFilters(start=start, end=end)).order_by("created_at", "id")
    recorded = ReceivedPayment.objects.filter(payment_id=OuterRef("pk"))
    rows = rows.annotate(**{f"recorded_{name}": Subquery(recorded.values(name)[:1])
                            for name in ("fiat_currency", "fiat_value", "fiat_rate_source")})
    rows = rows.using(reading_alias())
    for p in rows.iterator(chunk_size=1000):
        money: Money = payment_money(p)
        refunded = Money(int(getattr(p, "refunded", 0)), money.asset)
        # status as the dashboard shows it: "partially_refunded" / "refunded" once refunds succeeded
        yield [p.public_id, p.created_at, p.type, getattr(p, "shown_status", p.status), p.sender, p.recipient, money.symbol,
               money.human, money.amount, _fiat(money.fiat), "" if money.rate is None else f"{money.rate.normalize():f}",
               money.rate_at, p.purchase_id, p.meta.get("invoiceId") or p.meta.get("invoice_id") or "",
               refunded.human, refunded.amount, p.recorded_fiat_currency or "", _fiat(p.recorded_fiat_value),
               p.recorded_fiat_rate_source or ""]


def invoice_rows(merchant_id: int, start: date, end: date) -> Iterator[list[Any]]:
    rows = (invoices_for_merchant(merchant_id, start=start, end=end).order_by("created_at", "id")
            .using(reading_alias()))
    for inv in rows.iterator(chunk_size=1000):
        money, received = invoice_money(inv), invoice_money(inv, int(inv.amount_received))
        yield [inv.public_id, inv.created_at, inv.state, money.symbol, money.human, money.amount,
               received.human, received.amount, _fiat(money.fiat), inv.order_id, inv.description,
               inv.pay_to, inv.expires_at, inv.paid_at, inv.currency,
               "" if inv.price is None else f"{inv.price:f}", "" if inv.rate is None else f"{inv.rate.normalize():f}",
               inv.rate_source, inv.rate_at, invoice_overpaid(inv), "yes" if invoice_paid_late(inv) else "no"]


def settlement_rows(merchant_id: int, start: date, end: date) -> Iterator[list[Any]]:
    rows = (settlements_for_merchant(merchant_id)
            .filter(created_at__gte=day_start(start), created_at__lt=day_start(end + timedelta(days=1)))
            .order_by("created_at", "id").using(reading_alias()))
    for s in rows:
        money = Money(int(s.amount), s.asset)
        tx = s.chain_transaction
        yield [s.public_id, s.created_at, s.state, money.symbol, money.human, money.amount,
               s.payout_address, "yes" if s.automatic else "no", tx.tx_hash if tx else "",
               s.completed_at, s.failure_reason, s.fiat_currency, _fiat(s.fiat_value), s.fiat_rate_source]


EXPORTS = {
    "payments": (PAYMENT_COLUMNS, payment_rows),
    "invoices": (INVOICE_COLUMNS, invoice_rows),
    "settlements": (SETTLEMENT_COLUMNS, settlement_rows),
}


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(kind: str, merchant_id: int, start: date, end: date) -> Iterable[str]:
    columns, rows = EXPORTS[kind]
    writer = csv.writer(_Echo())
    yield writer.writerow(columns)
    for row in rows(merchant_id, start, end):
        yield writer.writerow([_cell(v) for v in row])
