"""Dashboard writes: each calls the platform's own service (the same one the REST API calls)
and appends the audit row in the same transaction, so the log never claims an action that
rolled back and never misses one that committed."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from payments.apikeys.models import ApiKey
from payments.apikeys.services import IssuedKey, api_key_create, api_key_revoke, api_key_roll
from payments.audit.models import AuditLog
from payments.audit.services import audit_record, client_ip
from payments.dashboard import signin
from payments.dashboard.models import MerchantSecurity, TeamInvitation, TotpDevice
from payments.errors import PaymentsError
from payments.merchants.models import Membership, Merchant
from payments.merchants.permissions import RESOURCES, Access
from payments.merchants.services import (
    membership_set,
    merchant_settlement_rule_set,
    payout_address_change_mail,
)
from payments.refunds.models import Refund
from payments.refunds.services import refund_create
from payments.settlements.models import Settlement
from payments.settlements.services import settlement_execute
from payments.webhooks.models import WebhookDelivery, WebhookEndpoint
from payments.webhooks.services import (
    delivery_redeliver,
    endpoint_create,
    endpoint_delete,
    endpoint_rotate_secret,
    endpoint_send_test,
    endpoint_update,
)

DASHBOARD = AuditLog.Surface.DASHBOARD


def _audit(request: HttpRequest, merchant_id: int | None, action: str, target: str = "",
           **detail: Any) -> None:
    audit_record(action=action, surface=DASHBOARD, actor=request.user, merchant_id=merchant_id,
                 target=target, request=request, detail=detail)


# --- API keys -----------------------------------------------------------------------------------

def key_grants(kind: str, permissions: dict[str, str] | None) -> dict[str, str]:
    """resource -> access a key of `kind` holds (what `key_allows` answers for it)."""
    if kind == ApiKey.Kind.SECRET:
        return dict.fromkeys(RESOURCES, "write")
    if kind == ApiKey.Kind.READ_ONLY:
        return dict.fromkeys(RESOURCES, "read")
    return dict(permissions or {})


@transaction.atomic
def api_key_create_by(request: HttpRequest, *, merchant_id: int, kind: str, name: str,
                      permissions: dict[str, str] | None = None) -> IssuedKey:
    """A key no stronger than the signed-in member's own role: every (resource, access) the key
    would hold must be one the role allows (permission_denied otherwise), as a key creating a
    key through the API may not exceed its own access."""
    membership = Membership.objects.get(merchant_id=merchant_id, user_id=int(request.user.pk or 0))
    for resource, access in key_grants(kind, permissions).items():
        # an access that is not read or write is api_key_create's to refuse (parameter_invalid)
        wanted: Access = "write" if access == "write" else "read"
        if resource in RESOURCES and access in ("read", "write") and not membership.allows(resource, wanted):
            raise PaymentsError("permission_denied",
                                f"your role ({membership.role}) cannot grant {access} on {resource}",
                                param="permissions")
    issued = api_key_create(merchant_id=merchant_id, kind=kind, name=name, permissions=permissions)
    _audit(request, merchant_id, "api_key.created", f"api_key:{issued.api_key.public_id}",
           kind=kind, name=name, prefix=issued.api_key.display_prefix,
           permissions=issued.api_key.permissions or None)
    return issued


@transaction.atomic
def api_key_revoke_by(request: HttpRequest, *, merchant_id: int, key_id: str) -> None:
    key = api_key_revoke(merchant_id=merchant_id, key_id=key_id)
    _audit(request, merchant_id, "api_key.revoked", f"api_key:{key.public_id}", prefix=key.display_prefix)


@transaction.atomic
def api_key_roll_by(request: HttpRequest, *, merchant_id: int, key_id: str) -> IssuedKey:
    issued = api_key_roll(merchant_id=merchant_id, key_id=key_id)
    _audit(request, merchant_id, "api_key.rolled", f"api_key:{key_id}",
           new_key=issued.api_key.public_id, prefix=issued.api_key.display_prefix)
    return issued


# --- team settings ------------------------------------------------------------------------------

@transaction.atomic
def merchant_time_zone_set_by(request: HttpRequest, *, merchant_id: int, time_zone: str) -> Merchant:
    """The zone (already validated against zoneinfo by the form) the team's dashboard uses."""
    merchant = Merchant.objects.select_for_update().get(pk=merchant_id)
    before = merchant.time_zone
    merchant.time_zone = time_zone
    merchant.save(update_fields=["time_zone"])
    _audit(request, merchant_id, "merchant.time_zone_set", f"merchant:{merchant_id}", before=before, after=time_zone)
    return merchant


# --- invoices -----------------------------------------------------------------------------------

@transaction.atomic
def invoice_void_by(request: HttpRequest, *, merchant_id: int, invoice_id: str) -> Any:
    from payments.invoices.services import invoice_void

    invoice = invoice_void(merchant_id=merchant_id, invoice_id=invoice_id)
    _audit(request, merchant_id, "invoice.voided", f"invoice:{invoice.public_id}")
    return invoice


@transaction.atomic
def invoice_refund_excess_by(request: HttpRequest, *, merchant_id: int, invoice_id: str) -> Any:
    """The dashboard's one-click refund of an invoice's excess (the API's POST
    /invoices/{id}/refund_excess), audited with the amount it gave back."""
    from payments.invoices.services import invoice_refund_excess

    invoice, refunds = invoice_refund_excess(merchant_id=merchant_id, invoice_id=invoice_id)
    _audit(request, merchant_id, "invoice.excess_refunded", f"invoice:{invoice.public_id}",
           amount=str(sum(int(r.amount) for r in refunds)), refunds=[r.public_id for r in refunds])
    return invoice, refunds


# --- money out ----------------------------------------------------------------------------------

@transaction.atomic
def settlement_request_by(request: HttpRequest, *, merchant_id: int, asset: str,
                          amount: int | None) -> Settlement:
    settlement = settlement_execute(merchant_id=merchant_id, asset=asset, amount=amount)
    _audit(request, merchant_id, "settlement.requested", f"settlement:{settlement.public_id}",
           asset=asset, amount=str(settlement.amount), payout_address=settlement.payout_address)
    return settlement


def reauthenticate(request: HttpRequest, *, secret: str, merchant_id: int | None, purpose: str) -> bool:
    """The signed-in user proves again who they are with their password or, when they have an
    authenticator, a fresh code. Throttled and counted like a sign-in (it is a password oracle);
    failures are audited."""
    user: Any = request.user
    username, ip = user.get_username(), client_ip(request)
    if not signin.signin_throttle(username=username, ip=ip).allowed:
        return False
    secret = secret or ""
    if secret and (user.check_password(secret) or (
            signin.totp_enabled(user) and signin.totp_verify(user_id=user.pk, code=secret))):
        return True
    signin.signin_failure_record(username=username, ip=ip)
    with transaction.atomic():
        _audit(request, merchant_id, "security.reauth_failed", f"user:{user.pk}", purpose=purpose)
    return False


@transaction.atomic
def settlement_rule_set_by(request: HttpRequest, *, merchant_id: int, threshold_wei: int | None,
                           threshold_token: int | None, schedule: str, payout_address: str) -> Merchant:
    before = Merchant.objects.select_for_update().get(pk=merchant_id).payout_address
    merchant = merchant_settlement_rule_set(
        merchant_id=merchant_id, threshold_wei=threshold_wei, threshold_token=threshold_token,
        schedule=schedule, payout_address=payout_address or None)
    _audit(request, merchant_id, "settlement.rule_set", f"merchant:{merchant_id}",
           threshold_wei=None if threshold_wei is None else str(threshold_wei),
           threshold_token=None if threshold_token is None else str(threshold_token),
           schedule=schedule, payout_address=merchant.payout_address)
    if merchant.payout_address != before:
        payout_address_changed_notify(request, merchant=merchant, before=before)
    return merchant


def payout_address_changed_notify(request: HttpRequest, *, merchant: Merchant, before: str) -> None:
    """Every owner hears of a payout address change: an audit row (shown on every owner's
    dashboard for a week) and, after commit, an email through the configured backend."""
    _audit(request, merchant.pk, "settlement.payout_address_changed", f"merchant:{merchant.pk}",
           before=before, after=merchant.payout_address)
    who = request.user.get_username() if request.user.is_authenticated else "someone"
    payout_address_change_mail(merchant=merchant, before=before, who=who)


@transaction.atomic
def refund_create_by(request: HttpRequest, *, merchant_id: int, payment_id: int, amount: int | None,
                     reason: str) -> Refund:
    from hub.purchases.selectors import payment_public_id

    refund = refund_create(merchant_id=merchant_id, payment_id=payment_id, amount=amount, reason=reason)
    _audit(request, merchant_id, "refund.requested", f"refund:{refund.public_id}",
           payment=payment_public_id(payment_id), amount=str(refund.amount), asset=refund.asset)
    return refund


# --- webhooks -----------------------------------------------------------------------------------

@transaction.atomic
def webhook_endpoint_create_by(request: HttpRequest, *, merchant_id: int, url: str,
                               event_types: list[str], description: str) -> WebhookEndpoint:
    endpoint = endpoint_create(merchant_id=merchant_id, url=url, event_types=event_types,
                               description=description)
    _audit(request, merchant_id, "webhook_endpoint.created", f"webhook_endpoint:{endpoint.public_id}",
           url=endpoint.url, event_types=endpoint.event_types)
    return endpoint


@transaction.atomic
def webhook_endpoint_update_by(request: HttpRequest, *, merchant_id: int, endpoint_id: str, url: str,
                               event_types: list[str], description: str,
                               enabled: bool) -> WebhookEndpoint:
    endpoint = endpoint_update(merchant_id=merchant_id, endpoint_id=endpoint_id, url=url,
                               event_types=event_types, description=description, enabled=enabled)
    _audit(request, merchant_id, "webhook_endpoint.updated", f"webhook_endpoint:{endpoint_id}",
           url=endpoint.url, event_types=endpoint.event_types, enabled=endpoint.enabled)
    return endpoint


@transaction.atomic
def webhook_endpoint_delete_by(request: HttpRequest, *, merchant_id: int, endpoint_id: str) -> None:
    endpoint_delete(merchant_id=merchant_id, endpoint_id=endpoint_id)
    _audit(request, merchant_id, "webhook_endpoint.deleted", f"webhook_endpoint:{endpoint_id}")


@transaction.atomic
def webhook_endpoint_rotate_secret_by(request: HttpRequest, *, merchant_id: int,
                                      endpoint_id: str) -> WebhookEndpoint:
    endpoint = endpoint_rotate_secret(merchant_id=merchant_id, endpoint_id=endpoint_id)
    _audit(request, merchant_id, "webhook_endpoint.secret_rotated", f"webhook_endpoint:{endpoint_id}",
           previous_secret_expires_at=endpoint.previous_secret_expires_at.isoformat()
           if endpoint.previous_secret_expires_at else None)
    return endpoint


@transaction.atomic
def webhook_endpoint_send_test_by(request: HttpRequest, *, merchant_id: int,
                                  endpoint_id: str) -> WebhookDelivery:
    delivery = endpoint_send_test(merchant_id=merchant_id, endpoint_id=endpoint_id)
    _audit(request, merchant_id, "webhook_endpoint.test_sent", f"webhook_endpoint:{endpoint_id}",
           delivery=delivery.public_id)
    return delivery


@transaction.atomic
def webhook_redeliver_by(request: HttpRequest, *, merchant_id: int, delivery_id: str) -> WebhookDelivery:
    delivery = delivery_redeliver(merchant_id=merchant_id, delivery_id=delivery_id)
    _audit(request, merchant_id, "webhook.redelivered", f"webhook_delivery:{delivery_id}",
           new_delivery=delivery.public_id)
    return delivery


# --- team ---------------------------------------------------------------------------------------

def _owners(merchant_id: int) -> int:
    return Membership.objects.filter(merchant_id=merchant_id, role=Membership.Role.OWNER).count()


INVITATION_AGE = timedelta(days=7)


def _invite_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def invitation_create_by(request: HttpRequest, *, merchant_id: int, email: str, role: str,
                         accept_url: Callable[[str], str]) -> tuple[TeamInvitation, str]:
    """Invite `email` to the team with `role`; returns the invitation and its link token (shown
    once to the owner; only its hash is stored). Whether an account with that email exists is
    never looked at: the answer is the same either way, and nobody's data is shown until they
    accept. The link is also mailed through the configured email backend after commit."""
    if role not in Membership.Role.values:
        raise PaymentsError("parameter_invalid", "role is owner, manager or staff", param="role")
    merchant = Merchant.objects.select_for_update().get(pk=merchant_id)
    token = secrets.token_urlsafe(32)
    invitation = TeamInvitation.objects.create(
        merchant=merchant, email=email, role=role, token_hash=_invite_token_hash(token),
        invited_by=request.user if request.user.is_authenticated else None,
        expires_at=timezone.now() + INVITATION_AGE)
    _audit(request, merchant_id, "team.invited", f"invitation:{invitation.pk}", email=email, role=role)
    url = accept_url(token)
    inviter = request.user.get_username() if request.user.is_authenticated else "An owner"
    transaction.on_commit(lambda: send_mail(
        subject=f"You are invited to {merchant.name} on Spoke",
        message=(f"{inviter} invited you to join the team of {merchant.name} on Spoke as {role}.\n\n"
                 f"Open this link within 7 days to accept (sign in, or create an account):\n{url}\n\n"
                 "If you did not expect this, ignore this message: nothing happens until you accept."),
        from_email=None, recipient_list=[email], fail_silently=True))
    return invitation, token


def invitation_by_token(token: str) -> TeamInvitation | None:
    """The open invitation of a link token (None when unknown, used, revoked or expired)."""
    if not token or len(token) > 100:
        return None
    invitation = (TeamInvitation.objects.select_related("merchant")
                  .filter(token_hash=_invite_token_hash(token)).first())
    return invitation if invitation is not None and invitation.is_open(timezone.now()) else None


@transaction.atomic
def invitation_accept(request: HttpRequest, *, token: str, user: AbstractBaseUser) -> Membership:
    """`user` accepts: a member with the invited role, once (the row is locked, then closed)."""
    invitation = (TeamInvitation.objects.select_for_update()
                  .filter(token_hash=_invite_token_hash(token)).first() if token and len(token) <= 100 else None)
    if invitation is None or not invitation.is_open(timezone.now()):
        raise PaymentsError("resource_missing", "this invitation is not valid any more")
    if Membership.objects.filter(merchant_id=invitation.merchant_id, user_id=user.pk).exists():
        raise PaymentsError("parameter_invalid", "you are already on this team")
    membership = membership_set(merchant_id=invitation.merchant_id, user=user, role=invitation.role)
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user  # type: ignore[assignment]
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    audit_record(action="team.invitation_accepted", surface=DASHBOARD, actor=user,
                 merchant_id=invitation.merchant_id, target=f"user:{user.pk}", request=request,
                 detail={"invitation": invitation.pk, "role": invitation.role})
    return membership


@transaction.atomic
def invitation_accept_new_account(request: HttpRequest, *, token: str, username: str,
                                  password: str) -> Membership:
    """Create the invitee's account with the password they chose, then accept."""
    invitation = invitation_by_token(token)
    if invitation is None:
        raise PaymentsError("resource_missing", "this invitation is not valid any more")
    User = get_user_model()
    if User.objects.filter(username__iexact=username).exists():
        raise PaymentsError("parameter_invalid", "that username is taken; choose another", param="username")
    user = User(username=username, email=invitation.email)
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise PaymentsError("parameter_invalid", " ".join(exc.messages), param="password") from None
    user.set_password(password)
    user.save()
    return invitation_accept(request, token=token, user=user)


@transaction.atomic
def invitation_revoke_by(request: HttpRequest, *, merchant_id: int, invitation_id: int) -> TeamInvitation:
    invitation = TeamInvitation.objects.select_for_update().get(pk=invitation_id, merchant_id=merchant_id)
    if invitation.accepted_at is None and invitation.revoked_at is None:
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
        _audit(request, merchant_id, "team.invitation_revoked", f"invitation:{invitation.pk}",
               email=invitation.email)
    return invitation


@transaction.atomic
def member_role_set_by(request: HttpRequest, *, merchant_id: int, membership_id: int, role: str) -> Membership:
    Merchant.objects.select_for_update().get(pk=merchant_id)  # one team change at a time
    membership = Membership.objects.select_related("user").get(pk=membership_id, merchant_id=merchant_id)
    before = membership.role
    if before == Membership.Role.OWNER and role != before and _owners(merchant_id) <= 1:
        raise PaymentsError("parameter_invalid", "a team keeps at least one owner", param="role")
    membership = membership_set(merchant_id=merchant_id, user=membership.user, role=role)
    _audit(request, merchant_id, "team.role_changed", f"user:{membership.user_id}",
           username=membership.user.get_username(), before=before, after=role)
    return membership


@transaction.atomic
def member_remove_by(request: HttpRequest, *, merchant_id: int, membership_id: int) -> None:
    Merchant.objects.select_for_update().get(pk=merchant_id)
    membership = Membership.objects.select_related("user").get(pk=membership_id, merchant_id=merchant_id)
    if membership.role == Membership.Role.OWNER and _owners(merchant_id) <= 1:
        raise PaymentsError("parameter_invalid", "a team keeps at least one owner")
    _audit(request, merchant_id, "team.member_removed", f"user:{membership.user_id}",
           username=membership.user.get_username(), role=membership.role)
    membership.delete()


# --- sign-in security ---------------------------------------------------------------------------

@transaction.atomic
def totp_required_set_by(request: HttpRequest, *, merchant_id: int, required: bool) -> MerchantSecurity:
    policy, _ = MerchantSecurity.objects.select_for_update().get_or_create(merchant_id=merchant_id)
    policy.totp_required = required
    policy.save()
    _audit(request, merchant_id, "security.totp_required" if required else "security.totp_optional",
           f"merchant:{merchant_id}")
    return policy


@transaction.atomic
def totp_enroll_by(request: HttpRequest, *, user: AbstractBaseUser, secret: str, code: str,
                   merchant_id: int | None) -> TotpDevice | None:
    device = signin.totp_enroll(user=user, secret=secret, code=code)
    if device is not None:
        audit_record(action="security.totp_enabled", surface=DASHBOARD, actor=user,
                     merchant_id=merchant_id, target=f"user:{user.pk}", request=request)
    return device


@transaction.atomic
def totp_disable_by(request: HttpRequest, *, merchant_id: int | None) -> None:
    if signin.totp_required_for(request.user):
        raise PaymentsError("permission_denied", "your team requires two-factor sign-in")
    if signin.totp_disable(user=request.user):
        _audit(request, merchant_id, "security.totp_disabled", f"user:{request.user.pk}")
