"""Team and roles (members join only by accepting an owner's invitation), and the audit log
(owners)."""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_POST

from payments.audit.selectors import audit_for_merchant
from payments.dashboard import forms, services
from payments.dashboard.models import TeamInvitation, TotpDevice
from payments.dashboard.once import once_only, show_once_pop, show_once_stash
from payments.dashboard.views.base import (
    SESSION_MERCHANT,
    SESSION_SIGNED_IN,
    dash_of,
    dashboard_view,
    no_store,
    page,
    paginate,
)
from payments.errors import PaymentsError
from payments.merchants.models import Membership
from payments.merchants.permissions import RESOURCES, ROLE_PERMISSIONS


def _team_page(request: HttpRequest, form: forms.InviteForm, *, error: str = "", status: int = 200,
               tz_form: forms.TimeZoneForm | None = None) -> HttpResponse:
    merchant_id = dash_of(request).merchant_id
    members = list(Membership.objects.filter(merchant_id=merchant_id)
                   .select_related("user").order_by("role", "user__username"))
    with_totp = set(TotpDevice.objects.filter(user_id__in=[m.user_id for m in members]).values_list("user_id", flat=True))
    for m in members:
        m.has_totp = m.user_id in with_totp  # type: ignore[attr-defined]
    invitations = [i for i in TeamInvitation.objects.filter(
        merchant_id=merchant_id, accepted_at=None, revoked_at=None).order_by("-id")[:100]
        if i.is_open(timezone.now())]
    matrix = [(r, [ROLE_PERMISSIONS[role].get(r, "—") for role in ("owner", "manager", "staff")]) for r in RESOURCES]
    invited = show_once_pop(request, "invitation") if dash_of(request).can("team", "write") else None
    return no_store(page(request, "dashboard/team.html", {
        "members": members, "invitations": invitations, "form": form, "roles": Membership.Role.choices,
        "error": error, "invited": invited, "matrix": matrix,
        "tz_form": tz_form or forms.TimeZoneForm(initial={"time_zone": dash_of(request).merchant.time_zone}),
        "zones": sorted(zoneinfo.available_timezones()),
        "email_configured": "dummy" not in settings.EMAIL_BACKEND}, status=status))


@never_cache
@dashboard_view("team")
def team_view(request: HttpRequest) -> HttpResponse:
    return _team_page(request, forms.InviteForm())


@require_POST
@dashboard_view("team", "write")
@once_only("payments:dashboard:team")
def time_zone_view(request: HttpRequest) -> HttpResponse:
    form = forms.TimeZoneForm(request.POST)
    if not form.is_valid():
        return _team_page(request, forms.InviteForm(), tz_form=form, status=400)
    services.merchant_time_zone_set_by(request, merchant_id=dash_of(request).merchant_id,
                                       time_zone=form.cleaned_data["time_zone"])
    messages.success(request, _("Times are now shown in %(zone)s.") % {"zone": form.cleaned_data["time_zone"]})
    return redirect("payments:dashboard:team")


@require_POST
@dashboard_view("team", "write")
@once_only("payments:dashboard:team")
def invite_view(request: HttpRequest) -> HttpResponse:
    """The same answer whoever the email belongs to: an invitation is created and its link shown
    once (after the redirect) for the owner to pass on; it is mailed too when email is set up."""
    form = forms.InviteForm(request.POST)
    if form.is_valid():
        d = form.cleaned_data
        try:
            _, token = services.invitation_create_by(
                request, merchant_id=dash_of(request).merchant_id, email=d["email"], role=d["role"],
                accept_url=lambda t: request.build_absolute_uri(reverse("payments:dashboard:invitation", args=[t])))
        except PaymentsError as exc:
            form.add_error("role" if exc.param == "role" else None, exc.message)
        else:
            show_once_stash(request, "invitation", email=d["email"], role=d["role"],
                            url=request.build_absolute_uri(reverse("payments:dashboard:invitation", args=[token])))
            return redirect("payments:dashboard:team")
    return _team_page(request, form, status=400)


@require_POST
@dashboard_view("team", "write")
@once_only("payments:dashboard:team")
def invitation_revoke_view(request: HttpRequest, invitation_id: int) -> HttpResponse:
    try:
        services.invitation_revoke_by(request, merchant_id=dash_of(request).merchant_id,
                                      invitation_id=invitation_id)
    except TeamInvitation.DoesNotExist:
        raise Http404("no such invitation") from None
    messages.success(request, "Invitation withdrawn: its link no longer works.")
    return redirect("payments:dashboard:team")


@never_cache
@csrf_protect
def invitation_view(request: HttpRequest, token: str) -> HttpResponse:
    """The invitee's page: accept as the signed-in account, sign in first, or create an account.
    An unknown, used, revoked or expired link gets one and the same 404 page."""
    invitation = services.invitation_by_token(token)
    if invitation is None:
        return render(request, "dashboard/invitation_invalid.html", status=404)
    signed_in = request.user.is_authenticated and bool(request.session.get(SESSION_SIGNED_IN))
    form = forms.NewAccountForm(request.POST if request.method == "POST" and not signed_in else None)
    error = ""
    if request.method == "POST":
        try:
            if signed_in:
                membership = services.invitation_accept(request, token=token, user=request.user)  # type: ignore[arg-type]
                request.session[SESSION_MERCHANT] = membership.merchant_id
                messages.success(request, f"You joined {invitation.merchant.name}.")
                return redirect("payments:dashboard:home")
            if form.is_valid():
                d = form.cleaned_data
                services.invitation_accept_new_account(request, token=token, username=d["username"],
                                                       password=d["password"])
                messages.success(request, f"Your account was created and joined {invitation.merchant.name}. "
                                          "Sign in with it now.")
                return redirect("payments:dashboard:login")
        except PaymentsError as exc:
            if exc.param in ("username", "password") and not signed_in:
                form.add_error(exc.param, exc.message)
            else:
                error = exc.message
    return no_store(render(request, "dashboard/invitation.html", {
        "invitation": invitation, "signed_in": signed_in, "form": form, "error": error,
        "login_url": f"{reverse('payments:dashboard:login')}?next={request.path}"},
        status=400 if form.errors or error else 200))


@require_POST
@dashboard_view("team", "write")
@once_only("payments:dashboard:team")
def member_role_view(request: HttpRequest, membership_id: int) -> HttpResponse:
    form = forms.RoleForm(request.POST)
    if not form.is_valid():
        return _team_page(request, forms.InviteForm(), error="Choose a role.", status=400)
    try:
        services.member_role_set_by(request, merchant_id=dash_of(request).merchant_id,
                                    membership_id=membership_id, role=form.cleaned_data["role"])
    except Membership.DoesNotExist:
        raise Http404("no such member") from None
    except PaymentsError as exc:
        return _team_page(request, forms.InviteForm(), error=exc.message, status=400)
    messages.success(request, "Role saved.")
    return redirect("payments:dashboard:team")


@require_POST
@dashboard_view("team", "write")
@once_only("payments:dashboard:team")
def member_remove_view(request: HttpRequest, membership_id: int) -> HttpResponse:
    try:
        services.member_remove_by(request, merchant_id=dash_of(request).merchant_id, membership_id=membership_id)
    except Membership.DoesNotExist:
        raise Http404("no such member") from None
    except PaymentsError as exc:
        return _team_page(request, forms.InviteForm(), error=exc.message, status=400)
    messages.success(request, "Member removed from the team.")
    return redirect("payments:dashboard:team")


@never_cache
@dashboard_view("team", "write")
def audit_view(request: HttpRequest) -> HttpResponse:
    """The account's audit log: owners only (team write access)."""
    prefix = request.GET.get("action", "")[:64]
    page_obj, query = paginate(request, audit_for_merchant(dash_of(request).merchant_id, action_prefix=prefix))
    return page(request, "dashboard/audit.html", {"page_obj": page_obj, "query": query, "prefix": prefix})
