"""The operator admin site: an index that leads with the hub's health (open alarms, hub reserve,
global switches), an audit row for every operator write, and the dashboard's protected sign-in
(throttled, second factor, 12-hour sessions with an idle timeout) instead of the admin's own.

Every ModelAdmin view goes through `admin_view`, so one wrapper here audits each successful POST
(add, change, delete, and every admin action, including ones registered later) without each
admin module having to remember to."""

from __future__ import annotations

import logging
from functools import wraps
from typing import Any, cast
from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from ops.forms import JSONFormField

logger = logging.getLogger(__name__)

_SAFE_POST_KEYS = ("action", "index", "select_across", "post")


def _what(request: HttpRequest) -> tuple[str, str]:
    """(audit action, target) for an admin POST, from the URL name (app_model_view)."""
    match = request.resolver_match
    name = (match.url_name if match else "") or ""
    kwargs = match.kwargs if match else {}
    if request.POST.get("action"):
        return "admin.action", name.removesuffix("_changelist")
    for suffix in ("add", "change", "delete", "history"):
        if name.endswith(f"_{suffix}"):
            model = name.removesuffix(f"_{suffix}")
            target = f"{model}:{kwargs['object_id']}" if "object_id" in kwargs else model
            return f"admin.{suffix}", target
    return "admin.post", name or request.path


def _storable(value: Any) -> Any:
    """The detail with NUL and lone surrogates replaced: the operator typed them, the audit row
    must still be written (jsonb refuses both)."""
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8").replace("\x00", "\ufffd")
    if isinstance(value, list):
        return [_storable(v) for v in value]
    if isinstance(value, dict):
        return {_storable(k): _storable(v) for k, v in value.items()}
    return value


def _audit_post(request: HttpRequest) -> None:
    from payments.audit.models import AuditLog
    from payments.audit.services import audit_record

    action, target = _what(request)
    detail: dict[str, Any] = {"path": request.path}
    for key in _SAFE_POST_KEYS:
        if request.POST.get(key):
            detail[key] = request.POST.get(key)
    selected = request.POST.getlist("_selected_action")
    if selected:
        detail["objects"] = selected[:500]
    if action in ("admin.add", "admin.change"):
        # field names only: values can be secrets (webhook secrets, keys)
        detail["fields"] = sorted(k for k in request.POST if not k.startswith(("csrfmiddleware", "_")))[:100]
    changes = getattr(request, "audit_changes", None)
    if changes is not None:
        # a ModelAdmin whose values are safe to keep (no secrets) names old and new values
        detail["changes"] = changes
    audit_record(action=action, surface=AuditLog.Surface.ADMIN, actor=request.user,
                 target=target, request=request, detail=_storable(detail))


class SpokeAdminSite(admin.AdminSite):
    site_header = "Spoke operations"
    site_title = "Spoke operations"
    index_title = "Hub operations"

    def register(self, model_or_iterable: Any, admin_class: Any = None, **options: Any) -> None:
        super().register(model_or_iterable, admin_class, **options)
        # Every JSON form field decodes through ops.jsonbody (Django's own can raise a 500).
        for model_admin in self._registry.values():
            overrides = cast(dict[Any, dict[str, Any]], model_admin.formfield_overrides)
            overrides.setdefault(models.JSONField, {}).setdefault("form_class", JSONFormField)

    def admin_view(self, view: Any, cacheable: bool = False) -> Any:
        inner = super().admin_view(view, cacheable)

        @wraps(inner)
        def audited(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            response = inner(request, *args, **kwargs)
            # A redirect after a POST is Django admin's "done" (saved, deleted, action run);
            # form errors and confirmation pages answer 200 and changed nothing.
            if (request.method == "POST" and request.user.is_authenticated
                    and 300 <= response.status_code < 400
                    and not getattr(request, "audit_recorded", False)):  # a view that audited itself
                try:
                    with transaction.atomic():
                        _audit_post(request)
                except Exception:  # the write already happened; never hide it behind a 500
                    logger.exception("audit of admin POST %s failed", request.path)
            return response

        return audited

    def get_urls(self) -> list[Any]:
        from django.urls import path

        from payments.dashboard.admin_liquidity import liquidity_view, rebalance_view

        return [
            path("liquidity/", self.admin_view(liquidity_view), name="liquidity"),
            path("liquidity/rebalance/", self.admin_view(rebalance_view), name="liquidity_rebalance"),
            *super().get_urls(),
        ]

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        """No sign-in form of its own: operators sign in through the dashboard's sign-in, with its
        throttling, its second factor (mandatory for staff accounts) and its session timeouts."""
        if request.user.is_authenticated and not self.has_permission(request):
            # Signed in, but not as an operator (a merchant's user): sending them to the sign-in
            # would bounce straight back here, forever. Say no instead.
            raise PermissionDenied("this account has no access to the operator admin")
        target = request.GET.get(REDIRECT_FIELD_NAME) or reverse("admin:index", current_app=self.name)
        if not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
            target = reverse("admin:index", current_app=self.name)
        return redirect(f"{reverse('payments:dashboard:login')}?{urlencode({'next': target})}")

    def index(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        from payments.dashboard.ops import hub_overview

        return super().index(request, {**(extra_context or {}), "hub": hub_overview()})
