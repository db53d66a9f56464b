"""Admin registrations of the merchant platform, one module per concept."""

from payments.apikeys import admin as apikeys_admin
from payments.audit import admin as audit_admin
from payments.dashboard import admin as dashboard_admin
from payments.events import admin as events_admin
from payments.idempotency import admin as idempotency_admin
from payments.invoices import admin as invoices_admin
from payments.merchants import admin as merchants_admin
from payments.received import admin as received_admin
from payments.refunds import admin as refunds_admin
from payments.settlements import admin as settlements_admin
from payments.webhooks import admin as webhooks_admin

__all__ = ["apikeys_admin", "audit_admin", "dashboard_admin", "events_admin", "idempotency_admin", "invoices_admin",
           "merchants_admin", "received_admin", "refunds_admin", "settlements_admin", "webhooks_admin"]
