"""Team and roles, and the audit log (owners)."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from payments.audit.selectors import audit_for_merchant
from payments.dashboard import forms, services
from payments.dashboard.models import TotpDevice
from payments.dashboard.views.base import dash_of, dashboard_view, no_store, page, paginate
from payments.errors import PaymentsError
from payments.merchants.models import Membership
from payments.merchants.permissions import RESOURCES, ROLE_PERMISSIONS


def _team_page(request: HttpRequest, form: forms.MemberAddForm, *, error: str = "",
               new_password: str | None = None, new_user: str = "", status: int = 200) -> HttpResponse:
    members = list(Membership.objects.filter(merchant_id=dash_of(request).merchant_id)
                   .select_related("user").order_by("role", "user__username"))
    with_totp = set(TotpDevice.objects.filter(user_id__in=[m.user_id for m in members]).values_list("user_id", flat=True))
    for m in members:
        m.has_totp = m.user_id in with_totp  # type: ignore[attr-defined]
    matrix = [(r, [ROLE_PERMISSIONS[role].get(r, "—") for role in ("owner", "manager", "staff")]) for r in RESOURCES]
    return no_store(page(request, "dashboard/team.html", {
        "members": members, "form": form, "roles": Membership.Role.choices, "error": error,
        "new_password": new_password, "new_user": new_user, "matrix": matrix}, status=status))


@never_cache
@dashboard_view("team")
def team_view(request: HttpRequest) -> HttpResponse:
    return _team_page(request, forms.MemberAddForm())


@require_POST
@dashboard_view("team", "write")
def member_add_view(request: HttpRequest) -> HttpResponse:
    form = forms.MemberAddForm(request.POST)
    if form.is_valid():
        d = form.cleaned_data
        try:
            membership, password = services.member_add_by(request, merchant_id=dash_of(request).merchant_id,
                                                          username=d["username"], email=d["email"], role=d["role"])
            return _team_page(request, forms.MemberAddForm(), new_password=password,
                              new_user=membership.user.get_username())
        except PaymentsError as exc:
            form.add_error("username" if exc.param == "username" else None, exc.message)
    return _team_page(request, form, status=400)


@require_POST
@dashboard_view("team", "write")
def member_role_view(request: HttpRequest, membership_id: int) -> HttpResponse:
    form = forms.RoleForm(request.POST)
    if not form.is_valid():
        return _team_page(request, forms.MemberAddForm(), error="Choose a role.", status=400)
    try:
        services.member_role_set_by(request, merchant_id=dash_of(request).merchant_id,
                                    membership_id=membership_id, role=form.cleaned_data["role"])
    except Membership.DoesNotExist:
        raise Http404("no such member") from None
    except PaymentsError as exc:
        return _team_page(request, forms.MemberAddForm(), error=exc.message, status=400)
    return redirect("payments:dashboard:team")


@require_POST
@dashboard_view("team", "write")
def member_remove_view(request: HttpRequest, membership_id: int) -> HttpResponse:
    try:
        services.member_remove_by(request, merchant_id=dash_of(request).merchant_id, membership_id=membership_id)
    except Membership.DoesNotExist:
        raise Http404("no such member") from None
    except PaymentsError as exc:
        return _team_page(request, forms.MemberAddForm(), error=exc.message, status=400)
    return redirect("payments:dashboard:team")


@never_cache
@dashboard_view("team", "write")
def audit_view(request: HttpRequest) -> HttpResponse:
    """The account's audit log: owners only (team write access)."""
    prefix = request.GET.get("action", "")[:64]
    page_obj, query = paginate(request, audit_for_merchant(dash_of(request).merchant_id, action_prefix=prefix))
    return page(request, "dashboard/audit.html", {"page_obj": page_obj, "query": query, "prefix": prefix})
