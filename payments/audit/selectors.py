from __future__ import annotations

from django.db.models import QuerySet

from payments.audit.models import AuditLog


def audit_for_merchant(merchant_id: int, *, action_prefix: str = "") -> QuerySet[AuditLog]:
    """What happened in a merchant's account, newest first (owners see it in the dashboard)."""
    rows = AuditLog.objects.filter(merchant_id=merchant_id)
    if action_prefix:
        rows = rows.filter(action__startswith=action_prefix)
    return rows.order_by("-id")
