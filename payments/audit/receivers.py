"""Sign-ins and failed sign-ins on any surface (dashboard and admin) go to the audit log."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from payments.audit.models import AuditLog
from payments.audit.services import audit_record


def _surface(request: HttpRequest | None) -> str:
    path = getattr(request, "path", "") or ""
    if path.startswith("/admin/"):
        return AuditLog.Surface.ADMIN
    if path.startswith("/dashboard/"):
        return AuditLog.Surface.DASHBOARD
    return AuditLog.Surface.SYSTEM


@receiver(user_logged_in, dispatch_uid="spoke-audit-signin")
def _signed_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    detail = dict(getattr(request, "audit_signin_detail", None) or {})
    audit_record(action="signin.succeeded", surface=_surface(request), actor=user, request=request,
                 merchant_id=detail.pop("merchant_id", None), detail=detail)


@receiver(user_login_failed, dispatch_uid="spoke-audit-signin-failed")
def _sign_in_failed(sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None,
                    **kwargs: Any) -> None:
    # the username only: the cleansed credentials never include the password, but be explicit
    audit_record(action="signin.failed", surface=_surface(request), request=request,
                 actor_label=str(credentials.get("username", ""))[:150])
