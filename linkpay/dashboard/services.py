"""The dashboard's link writes: linkpay's services plus the dashboard's audit record."""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest

from linkpay.models import Link
from linkpay.services import IssuedLink, link_cancel, link_create_custodial
from payments.audit.models import AuditLog
from payments.audit.services import audit_record


@transaction.atomic
def link_create_by(request: HttpRequest, *, merchant_id: int, amount: int, asset: str,
                   expires_in: int | None, note: str) -> IssuedLink:
    issued = link_create_custodial(merchant_id=merchant_id, amount=amount, asset=asset,
                                   expires_in=expires_in, note=note)
    audit_record(action="link.created", surface=AuditLog.Surface.DASHBOARD, actor=request.user,
                 merchant_id=merchant_id, target=f"link:{issued.link.public_id}", request=request,
                 detail={"amount": str(amount), "asset": asset})
    return issued


@transaction.atomic
def link_cancel_by(request: HttpRequest, *, merchant_id: int, link_id: str) -> Link:
    link = link_cancel(link_public_id=link_id, merchant_id=merchant_id)
    audit_record(action="link.cancelled", surface=AuditLog.Surface.DASHBOARD, actor=request.user,
                 merchant_id=merchant_id, target=f"link:{link.public_id}", request=request, detail={})
    return link
