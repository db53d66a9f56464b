"""What every dashboard page shares: who is signed in for which merchant, what their role may
see, the navigation, and rendering."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import wraps
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.paginator import Page, Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ops.models import GlobalSwitches
from payments.audit.models import AuditLog
from payments.dashboard.once import form_token_lazy
from payments.dashboard.selectors import last_event_id, membership_for, memberships_of
from payments.merchants.models import Membership, Merchant
from payments.merchants.permissions import RESOURCES, Access

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

# Set by the dashboard's own sign-in (password, then the second factor when there is one). An
# admin session alone does not open the dashboard: the admin sign-in has no second factor.
SESSION_SIGNED_IN = "dashboard_signed_in"
SESSION_MERCHANT = "dashboard_merchant_id"
PAGE_SIZE = 50
PAYOUT_NOTICE_AGE = timedelta(days=7)

NAV: tuple[tuple[StrOrPromise, str, str | None], ...] = (
    (_("Home"), "payments:dashboard:home", "balance"),
    (_("Liquidity"), "payments:dashboard:liquidity", "balance"),
    (_("Payments"), "payments:dashboard:payments", "payments"),
    (_("Invoices"), "payments:dashboard:invoices", "invoices"),
    (_("Links"), "payments:dashboard:links", "links"),
    (_("Refunds"), "payments:dashboard:refunds", "refunds"),
    (_("Settlements"), "payments:dashboard:settlements", "settlements"),
    (_("Proof of funds"), "payments:dashboard:proof", "balance"),
    (_("API keys"), "payments:dashboard:api_keys", "api_keys"),
    (_("Webhooks"), "payments:dashboard:webhooks", "webhooks"),
    (_("Team"), "payments:dashboard:team", "team"),
    (_("Export"), "payments:dashboard:export", "payments"),
)


@dataclass
class Dash:
    membership: Membership
    memberships: list[Membership]

    @property
    def merchant(self) -> Merchant:
        return self.membership.merchant

    @property
    def merchant_id(self) -> int:
        return self.membership.merchant_id

    @property
    def role(self) -> str:
        return self.membership.role

    def can(self, resource: str, access: Access = "read") -> bool:
        return self.membership.allows(resource, access)

    @property
    def is_owner(self) -> bool:
        return self.role == Membership.Role.OWNER


def merchant_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def dash_of(request: HttpRequest) -> Dash:
    dash: Dash = request.dash  # type: ignore[attr-defined]
    return dash


def dashboard_view(resource: str | None = None, access: Access = "read") -> Callable[..., Any]:
    """Signed in through the dashboard, a member of the current merchant, and (when `resource`
    is given) a role allowed `access` to it; otherwise the sign-in page or a 403 page."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated or not request.session.get(SESSION_SIGNED_IN):
                return redirect(f"{reverse('payments:dashboard:login')}?{urlencode({'next': request.get_full_path()})}")
            membership = membership_for(request.user, request.session.get(SESSION_MERCHANT))
            if membership is None:
                return render(request, "dashboard/no_merchant.html", status=403)
            if request.session.get(SESSION_MERCHANT) != membership.merchant_id:
                # only when it changes: a session write is a transaction with a durable commit,
                # and it was one on every page view
                request.session[SESSION_MERCHANT] = membership.merchant_id
            request.dash = Dash(membership, [])  # type: ignore[attr-defined]
            # times and days on every page are the team's (the setting is validated when saved;
            # a zone this Python no longer knows falls back to UTC)
            timezone.activate(merchant_zone(membership.merchant.time_zone))
            try:
                if resource is not None and not membership.allows(resource, access):
                    return page(request, "dashboard/forbidden.html", {"resource": resource}, status=403)
                return view(request, *args, **kwargs)
            finally:
                timezone.deactivate()

        # what the view needs, for the role x route matrix test (functools.wraps carries it)
        wrapped.dashboard_permission = (resource, access)  # type: ignore[attr-defined]
        return wrapped

    return decorate


def page(request: HttpRequest, template: str, context: dict[str, Any] | None = None, *,
         status: int = 200) -> HttpResponse:
    dash = dash_of(request)
    if not dash.memberships:
        dash.memberships = memberships_of(request.user)
    nav = [
        {"label": label, "url": reverse(name), "active": request.resolver_match is not None
         and request.resolver_match.view_name == name}
        for label, name, resource in NAV if resource is None or dash.can(resource)
    ]
    if dash.is_owner:
        nav.append({"label": _("Audit log"), "url": reverse("payments:dashboard:audit"),
                    "active": request.resolver_match is not None
                    and request.resolver_match.view_name == "payments:dashboard:audit"})
    perm = {r: {"read": dash.can(r, "read"), "write": dash.can(r, "write")} for r in RESOURCES}
    # owners see a recent payout address change on every page for a week (notified by email too)
    payout_notice = (AuditLog.objects.filter(merchant_id=dash.merchant_id, action="settlement.payout_address_changed",
                                             created_at__gte=timezone.now() - PAYOUT_NOTICE_AGE).first()
                     if dash.is_owner else None)
    from hub.liabilities.selectors import reserve_shortfalls, root_latest

    base = {"dash": dash, "nav": nav, "perm": perm, "last_event_id": last_event_id(dash.merchant_id),
            "form_token": form_token_lazy(request), "payout_notice": payout_notice,
            # the operator's kill switch: merchants hear that payments are paused (ops/admin.py)
            "payments_paused": not GlobalSwitches.cached().payments_enabled,
            "reserve_shortfall": reserve_shortfalls(root_latest()),
            "tz_name": timezone.get_current_timezone_name()}
    response = render(request, template, {**base, **(context or {})}, status=status)
    return response


def paginate(request: HttpRequest, rows: Any, per_page: int = PAGE_SIZE) -> tuple[Page[Any], str]:
    """The requested page and the query string of the filters (for the page links)."""
    paginator = Paginator(rows, per_page)
    page_obj = paginator.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return page_obj, query.urlencode()


def no_store(response: HttpResponse) -> HttpResponse:
    """Pages showing a secret once (API keys, link URLs, one-time passwords) are never cached."""
    response["Cache-Control"] = "no-store"
    return response
