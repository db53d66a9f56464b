"""Sign-in (password, then a TOTP code when the user has an authenticator or a team requires
one), enrolment, sign-out, merchant switching and the security page."""

from __future__ import annotations

import time
from typing import Any

from django.contrib import messages
from django.contrib.auth import authenticate, get_user_model, login, logout
from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_POST

from payments.audit.models import AuditLog
from payments.audit.services import audit_record, client_ip
from payments.dashboard import forms, services, signin
from payments.dashboard.qr import qr_svg_inline
from payments.dashboard.selectors import membership_for, memberships_of
from payments.dashboard.sessions import session_start
from payments.dashboard.views.base import (
    SESSION_MERCHANT,
    SESSION_SIGNED_IN,
    dash_of,
    dashboard_view,
    no_store,
    page,
)
from payments.errors import PaymentsError

PENDING = "dashboard_pending_signin"  # {"user_id", "at", "backend", "next", "secret"?}
PENDING_MAX_AGE = 300
SESSION_AGE = 12 * 3600  # ASVS 3.3.2 (L2): sign in again after 12 hours


def _next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return reverse("payments:dashboard:home")


def _accepting_invitation(request: HttpRequest) -> bool:
    """Signing in to accept an invitation: an account on no team yet may sign in for that."""
    return _next(request).startswith(reverse("payments:dashboard:invitation", args=["x"])[:-2])


def _operator_to_admin(request: HttpRequest, user: Any) -> bool:
    """Operators (staff accounts) sign in here on their way to the admin."""
    return bool(user.is_staff) and _next(request).startswith(reverse("admin:index"))


def _refused(request: HttpRequest, template: str, form: Any, retry_after: int) -> HttpResponse:
    wait = f"{retry_after} seconds" if retry_after < 120 else f"{retry_after // 60} minutes"
    form.add_error(None, f"Too many failed attempts. Try again in {wait}.")
    response = render(request, template, {"form": form, "next": _next(request)}, status=429)
    response["Retry-After"] = str(retry_after)
    return response


def _complete(request: HttpRequest, user: Any, backend: str, method: str, next_url: str) -> HttpResponse:
    membership = membership_for(user, None)
    # read by the audit receiver
    request.audit_signin_detail = {  # type: ignore[attr-defined]
        "merchant_id": membership.merchant_id if membership else None, "method": method}
    signin.signin_success_record(username=user.get_username())
    login(request, user, backend=backend)  # a new session id (ASVS 3.2.1)
    request.session.set_expiry(SESSION_AGE)
    session_start(request)
    request.session[SESSION_SIGNED_IN] = True
    if membership is not None:
        request.session[SESSION_MERCHANT] = membership.merchant_id
    return redirect(next_url)


def _pending_user(request: HttpRequest) -> tuple[dict[str, Any], AbstractBaseUser] | None:
    pending = request.session.get(PENDING)
    if not pending or time.time() - pending.get("at", 0) > PENDING_MAX_AGE:
        request.session.pop(PENDING, None)
        return None
    user = get_user_model().objects.filter(pk=pending["user_id"], is_active=True).first()
    return (pending, user) if user is not None else None


@never_cache
@csrf_protect
def login_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated and request.session.get(SESSION_SIGNED_IN):
        return redirect(_next(request))
    form = forms.SignInForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        username, ip = form.cleaned_data["username"], client_ip(request)
        throttle = signin.signin_throttle(username=username, ip=ip)
        if not throttle.allowed:  # refused before the password is evaluated
            return _refused(request, "dashboard/login.html", form, throttle.retry_after)
        user = authenticate(request, username=username, password=form.cleaned_data["password"])
        if user is None:
            signin.signin_failure_record(username=username, ip=ip)
            form.add_error(None, "That username and password do not match.")
        elif not memberships_of(user) and not _accepting_invitation(request) and not _operator_to_admin(request, user):
            form.add_error(None, "This account is not on any merchant's team.")
        else:
            backend = getattr(user, "backend", "django.contrib.auth.backends.ModelBackend")
            if signin.totp_enabled(user) or signin.totp_required_for(user):
                request.session.cycle_key()
                request.session[PENDING] = {"user_id": user.pk, "at": time.time(), "backend": backend,
                                            "next": _next(request)}
                step = "payments:dashboard:login_totp" if signin.totp_enabled(user) else "payments:dashboard:login_enroll"
                return redirect(step)
            return _complete(request, user, backend, "password", _next(request))
    return render(request, "dashboard/login.html", {"form": form, "next": _next(request)},
                  status=400 if form.errors else 200)


@never_cache
@csrf_protect
def login_totp_view(request: HttpRequest) -> HttpResponse:
    found = _pending_user(request)
    if found is None:
        return redirect("payments:dashboard:login")
    pending, user = found
    form = forms.TotpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        username, ip = user.get_username(), client_ip(request)
        throttle = signin.signin_throttle(username=username, ip=ip, stage="code")
        if not throttle.allowed:
            return _refused(request, "dashboard/login_totp.html", form, throttle.retry_after)
        if signin.totp_verify(user_id=user.pk, code=form.cleaned_data["code"]):
            request.session.pop(PENDING, None)
            return _complete(request, user, pending["backend"], "password+totp", pending["next"])
        signin.signin_failure_record(username=username, ip=ip)
        audit_record(action="signin.totp_failed", surface=AuditLog.Surface.DASHBOARD, actor_label=username,
                     request=request)
        form.add_error("code", "That code is wrong or was already used. Wait for the next one.")
    return render(request, "dashboard/login_totp.html", {"form": form}, status=400 if form.errors else 200)


@never_cache
@csrf_protect
def login_enroll_view(request: HttpRequest) -> HttpResponse:
    """A team requires a second factor and this user has none yet: enrol before signing in."""
    found = _pending_user(request)
    if found is None:
        return redirect("payments:dashboard:login")
    pending, user = found
    secret = pending.get("secret") or signin.totp_new_secret()
    if pending.get("secret") != secret:
        request.session[PENDING] = {**pending, "secret": secret}
    form = forms.TotpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        throttle = signin.signin_throttle(username=user.get_username(), ip=client_ip(request), stage="code")
        if not throttle.allowed:
            return _refused(request, "dashboard/login_enroll.html", form, throttle.retry_after)
        membership = membership_for(user, None)
        if services.totp_enroll_by(request, user=user, secret=secret, code=form.cleaned_data["code"],
                                   merchant_id=membership.merchant_id if membership else None):
            request.session.pop(PENDING, None)
            return _complete(request, user, pending["backend"], "password+totp", pending["next"])
        signin.signin_failure_record(username=user.get_username(), ip=client_ip(request))
        form.add_error("code", "That code does not match. Check the time on your phone.")
    uri = signin.totp_provisioning_uri(secret, user)
    return no_store(render(request, "dashboard/login_enroll.html",
                           {"form": form, "secret": secret, "qr": qr_svg_inline(uri)},
                           status=400 if form.errors else 200))


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        audit_record(action="signout", surface=AuditLog.Surface.DASHBOARD, actor=request.user,
                     merchant_id=request.session.get(SESSION_MERCHANT), request=request)
    logout(request)
    return redirect("payments:dashboard:login")


@require_POST
@dashboard_view()
def switch_merchant_view(request: HttpRequest) -> HttpResponse:
    try:
        wanted = int(request.POST.get("merchant", ""))
    except ValueError:
        wanted = 0
    if any(m.merchant_id == wanted for m in memberships_of(request.user)):
        request.session[SESSION_MERCHANT] = wanted
    return redirect("payments:dashboard:home")


@never_cache
@dashboard_view()
def security_view(request: HttpRequest) -> HttpResponse:
    dash = dash_of(request)
    user = request.user
    enabled = signin.totp_enabled(user)
    context: dict[str, Any] = {"enabled": enabled, "required": signin.totp_required_for(user),
                               "policy_required": getattr(getattr(dash.merchant, "security", None),
                                                          "totp_required", False)}
    form = forms.TotpForm(request.POST or None)
    action = request.POST.get("op", "")
    if request.method == "POST":
        try:
            if action == "enable" and form.is_valid():
                secret = request.session.get("dashboard_totp_enrol_secret", "")
                if secret and services.totp_enroll_by(request, user=user, secret=secret,  # type: ignore[arg-type]
                                                      code=form.cleaned_data["code"], merchant_id=dash.merchant_id):
                    request.session.pop("dashboard_totp_enrol_secret", None)
                    messages.success(request, "Two-factor sign-in is on: from now on you sign in with a code too.")
                    return redirect("payments:dashboard:security")
                form.add_error("code", "That code does not match. Scan the code again and retry.")
            elif action == "disable":
                services.totp_disable_by(request, merchant_id=dash.merchant_id)
                messages.success(request, "Two-factor sign-in is off.")
                return redirect("payments:dashboard:security")
            elif action in ("require", "optional") and dash.is_owner:
                services.totp_required_set_by(request, merchant_id=dash.merchant_id, required=action == "require")
                messages.success(request, "Two-factor sign-in is now required for every member." if action == "require"
                                 else "Two-factor sign-in is now optional for members.")
                return redirect("payments:dashboard:security")
        except PaymentsError as exc:
            context["error"] = exc.message
    if not enabled:
        secret = request.session.get("dashboard_totp_enrol_secret") or signin.totp_new_secret()
        request.session["dashboard_totp_enrol_secret"] = secret
        context.update(secret=secret, qr=qr_svg_inline(signin.totp_provisioning_uri(secret, user)))
    context["form"] = form
    return no_store(page(request, "dashboard/security.html", context, status=400 if form.errors else 200))
