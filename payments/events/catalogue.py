"""The event catalogue: every event type the platform sends, with the object it carries.

One registry for the webhook event picker (API and dashboard validate against it), the
`GET /api/v1/event_types` listing, the docs page and the OpenAPI `webhooks` section. The app that
emits a type registers it (linkpay registers its `link.*` types in its AppConfig.ready);
tests/payments/test_event_catalogue.py checks that every type the code emits is registered."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import Any

# Bumped when the envelope or an object's shape changes incompatibly; sent as `api_version`.
API_VERSION = "2026-12-01"


@dataclass(frozen=True)
class EventType:
    type: str
    object: str  # the `object` value of data.object, e.g. "invoice"
    serializer: str  # dotted path of the DRF serializer describing data.object
    description: str

    def serializer_class(self) -> Any:
        module, _, name = self.serializer.rpartition(".")
        return getattr(import_module(module), name)


_TYPES: dict[str, EventType] = {}


def register(type: str, *, object: str, serializer: str, description: str) -> None:
    _TYPES[type] = EventType(type, object, serializer, description)


def get(type: str) -> EventType | None:
    return _TYPES.get(type)


def all_types() -> list[EventType]:
    return sorted(_TYPES.values(), key=lambda t: t.type)


def names() -> list[str]:
    return sorted(_TYPES)


_INVOICE = "payments.invoices.serializers.InvoiceSerializer"
_PAYMENT = "payments.api.payments_received.PaymentSerializer"
_REFUND = "payments.refunds.serializers.RefundSerializer"
_SETTLEMENT = "payments.settlements.serializers.SettlementSerializer"
_ENDPOINT = "payments.webhooks.serializers.WebhookEndpointSerializer"

for _name, _text in [
    ("created", "An invoice was created."),
    ("paid", "An invoice was paid in full before it expired."),
    ("partially_paid", "A payment arrived for an invoice but it is not yet paid in full."),
    ("overpaid", "Payments for an invoice exceed its amount; the excess can be refunded."),
    ("expired", "An invoice expired unpaid (or partially paid)."),
    ("paid_late", "An invoice was paid after it expired."),
    ("void", "An open invoice was voided by the merchant before any payment; it accepts none."),
    ("payment_flagged", "A payment was credited to an invoice but arrived late (after expiry) or took "
                        "it over its amount: see paid_late, amount_overpaid and amount_excess; "
                        "POST /invoices/{id}/refund_excess gives the excess back."),
    ("excess_refunded", "The excess of an invoice (overpaid part, or everything received when it "
                        "expired unpaid) was refunded to the payers (refund.created per refund)."),
]:
    register(f"invoice.{_name}", object="invoice", serializer=_INVOICE, description=_text)
register("payment.succeeded", object="payment", serializer=_PAYMENT,
         description="A payment to one of your receiving addresses completed.")
for _name, _text in [
    ("created", "A refund was requested; it is pending."),
    ("succeeded", "A refund was paid back to the customer."),
    ("failed", "A refund could not be paid; the amount stays in your balance."),
]:
    register(f"refund.{_name}", object="refund", serializer=_REFUND, description=_text)
for _name, _text in [
    ("created", "A settlement to your payout address was requested."),
    ("paid", "A settlement's transaction was confirmed on-chain."),
    ("failed", "A settlement's transaction failed; the amount went back to your balance."),
]:
    register(f"settlement.{_name}", object="settlement", serializer=_SETTLEMENT, description=_text)
register("payout_settings.updated", object="payout_settings",
         serializer="payments.merchants.serializers.PayoutSettingsSerializer",
         description="The payout address or the automatic settlement rules changed (API or dashboard).")
register("webhook_endpoint.test", object="webhook_endpoint", serializer=_ENDPOINT,
         description="Sent on request to one endpoint only (\"send a test event\"); "
                     "data.object is the endpoint, without its secret.")
