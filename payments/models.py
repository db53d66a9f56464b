"""The `payments` app's models live in sub-packages by concept; Django finds them here.
(`hub.purchases` and `hub.custodial` are apps of their own.)"""

from payments.apikeys.models import ApiKey
from payments.audit.models import AuditLog
from payments.dashboard.models import (
    MerchantSecurity,
    TeamInvitation,
    TotpDevice,
    VolumeBucket,
    VolumeFold,
)
from payments.events.models import Event
from payments.idempotency.models import IdempotencyRecord
from payments.invoices.models import Invoice, InvoicePayment
from payments.mail.models import OutgoingEmail
from payments.merchants.models import Membership, Merchant, ReceivingAddress
from payments.received.models import ReceivedPayment
from payments.refunds.models import Refund
from payments.settlements.models import Settlement
from payments.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

__all__ = [
    "ApiKey",
    "AuditLog",
    "Event",
    "IdempotencyRecord",
    "Invoice",
    "InvoicePayment",
    "Membership",
    "Merchant",
    "MerchantSecurity",
    "OutgoingEmail",
    "ReceivedPayment",
    "ReceivingAddress",
    "Refund",
    "Settlement",
    "TeamInvitation",
    "TotpDevice",
    "VolumeBucket",
    "VolumeFold",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
]
