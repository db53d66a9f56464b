"""Dramatiq autodiscovery loads `payments.tasks`: import every sub-package's actors."""

from payments.dashboard import tasks as dashboard_tasks
from payments.idempotency import tasks as idempotency_tasks
from payments.invoices import tasks as invoice_tasks
from payments.mail import tasks as mail_tasks
from payments.refunds import tasks as refund_tasks
from payments.settlements import tasks as settlement_tasks
from payments.webhooks import tasks as webhook_tasks

__all__ = ["dashboard_tasks", "idempotency_tasks", "invoice_tasks", "mail_tasks", "refund_tasks", "settlement_tasks", "webhook_tasks"]
