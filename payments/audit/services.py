"""Writing the audit log. `audit_record` is the only writer."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import HttpRequest

from payments.audit.models import AuditLog


def client_ip(request: HttpRequest | None) -> str | None:
    """REMOTE_ADDR: behind a proxy, SECURE_PROXY_SSL_HEADER deployments set it via the proxy
    protocol; X-Forwarded-For is client-controlled and never trusted here."""
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def audit_record(*, action: str, surface: str, actor: AbstractBaseUser | AnonymousUser | None = None,
                 actor_label: str = "", merchant_id: int | None = None, target: str = "",
                 request: HttpRequest | None = None, detail: dict[str, Any] | None = None) -> AuditLog:
    """Append one row. Runs in the caller's transaction when there is one, so an action that
    rolls back leaves no audit row claiming it happened. `detail` must hold no secrets."""
    actor_id = actor.pk if actor is not None and getattr(actor, "is_authenticated", False) else None
    if actor_id is not None and not actor_label:
        actor_label = actor.get_username()  # type: ignore[union-attr]
    return AuditLog.objects.create(
        action=action, surface=surface, actor_id=actor_id, actor_label=actor_label[:200],
        merchant_id=merchant_id, target=target[:200], ip=client_ip(request), detail=detail or {},
    )
