"""Writes for merchants, their teams and receiving addresses."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from eth_utils.address import is_address, is_checksum_address

from payments.errors import PaymentsError
from payments.merchants.models import Membership, Merchant, ReceivingAddress


def normalize_address(value: str, *, param: str = "address") -> str:
    if not isinstance(value, str) or not value.startswith("0x") or not is_address(value):
        raise PaymentsError("address_invalid", "expected a 0x-prefixed Ethereum address", param=param)
    hexpart = value[2:]
    if hexpart != hexpart.lower() and hexpart != hexpart.upper() and not is_checksum_address(value):
        # mixed case is an EIP-55 checksum: a wrong one is a typo, never a different address
        raise PaymentsError("address_invalid", "the address's checksum (mixed case) is wrong", param=param)
    return value.lower()


@transaction.atomic
def merchant_create(*, name: str, owner: Any = None, payout_address: str = "",
                    addresses: list[str] | None = None) -> Merchant:
    """A merchant with its owner (if given) and custodial receiving addresses."""
    merchant = Merchant.objects.create(
        name=name,
        payout_address=normalize_address(payout_address, param="payout_address") if payout_address else "",
    )
    if owner is not None:
        Membership.objects.create(user=owner, merchant=merchant, role=Membership.Role.OWNER)
    for address in addresses or []:
        receiving_address_add(merchant_id=merchant.pk, address=address)
    return merchant


@transaction.atomic
def receiving_address_add(*, merchant_id: int, address: str,
                          mode: str = ReceivingAddress.Mode.CUSTODIAL) -> ReceivingAddress:
    """Attach a receiving address. An address belongs to one merchant only (unique)."""
    if mode not in ReceivingAddress.Mode.values:
        raise PaymentsError("parameter_invalid", "mode is custodial or channel", param="mode")
    return ReceivingAddress.objects.create(
        merchant_id=merchant_id, address=normalize_address(address), mode=mode
    )


@transaction.atomic
def membership_set(*, merchant_id: int, user: Any, role: str) -> Membership:
    if role not in Membership.Role.values:
        raise PaymentsError("parameter_invalid", "role is owner, manager or staff", param="role")
    membership, _ = Membership.objects.update_or_create(
        merchant_id=merchant_id, user=user, defaults={"role": role}
    )
    return membership


@transaction.atomic
def merchant_settlement_rule_set(*, merchant_id: int, threshold_wei: int | None = None,
                                 threshold_token: int | None = None,
                                 schedule: str = Merchant.SettlementSchedule.NONE,
                                 payout_address: str | None = None) -> Merchant:
    merchant = Merchant.objects.select_for_update().get(pk=merchant_id)
    if schedule not in Merchant.SettlementSchedule.values:
        raise PaymentsError("parameter_invalid", "schedule is none, daily or weekly", param="schedule")
    merchant.settlement_threshold_wei = threshold_wei
    merchant.settlement_threshold_token = threshold_token
    merchant.settlement_schedule = schedule
    before = (merchant.payout_address, merchant.settlement_threshold_wei,
              merchant.settlement_threshold_token, merchant.settlement_schedule)
    if payout_address is not None:
        merchant.payout_address = normalize_address(payout_address, param="payout_address")
    merchant.save()
    after = (merchant.payout_address, merchant.settlement_threshold_wei,
             merchant.settlement_threshold_token, merchant.settlement_schedule)
    if after != before:
        from payments.events.services import event_record
        from payments.merchants.serializers import PayoutSettingsSerializer

        event_record(type="payout_settings.updated", merchant_id=merchant.pk,
                     data={"object": dict(PayoutSettingsSerializer(merchant).data)})
    return merchant


def payout_address_change_mail(*, merchant: Merchant, before: str, who: str) -> None:
    """After commit, tell every owner with an email that the payout address changed."""
    from django.core.mail import send_mail

    owners = list(Membership.objects.filter(merchant=merchant, role=Membership.Role.OWNER)
                  .exclude(user__email="").values_list("user__email", flat=True))
    if owners:
        transaction.on_commit(lambda: send_mail(
            subject=f"Payout address of {merchant.name} changed",
            message=(f"{who} changed where settlements of {merchant.name} are paid.\n\n"
                     f"Before: {before or '(none)'}\nNow:    {merchant.payout_address}\n\n"
                     "If this was not your team, sign in, set the address back, and remove that "
                     "member: settlements go to the new address from now on."),
            from_email=None, recipient_list=owners, fail_silently=True))


_UNSET: Any = object()


@transaction.atomic
def payout_settings_update_by_key(*, api_key: Any, payout_address: str | None = None,
                                  threshold_wei: Any = _UNSET, threshold_token: Any = _UNSET,
                                  schedule: str | None = None, request: Any = None) -> Merchant:
    """The payout settings through the API, by a key that may write settlements (the view checks
    it). Fields not given keep their value. Audited with the key as the actor, announced by a
    `payout_settings.updated` event, and a new payout address is mailed to every owner, as
    when a person changes it in the dashboard."""
    from payments.audit.models import AuditLog
    from payments.audit.services import audit_record

    if payout_address is None and threshold_wei is _UNSET and threshold_token is _UNSET and schedule is None:
        raise PaymentsError("parameter_missing", "send at least one of payout_address, threshold_wei, "
                            "threshold_token, schedule")
    merchant = Merchant.objects.select_for_update().get(pk=api_key.merchant_id)
    before = merchant.payout_address
    settings_before = _settings(merchant)
    merchant = merchant_settlement_rule_set(
        merchant_id=merchant.pk,
        threshold_wei=merchant.settlement_threshold_wei if threshold_wei is _UNSET else threshold_wei,
        threshold_token=merchant.settlement_threshold_token if threshold_token is _UNSET else threshold_token,
        schedule=merchant.settlement_schedule if schedule is None else schedule,
        payout_address=payout_address)
    if _settings(merchant) == settings_before:
        return merchant  # nothing changed: nothing to audit or announce
    actor = f"api_key:{api_key.public_id}"
    audit_record(action="settlement.rule_set", surface=AuditLog.Surface.API, actor_label=actor,
                 merchant_id=merchant.pk, target=f"merchant:{merchant.pk}", request=request, detail={
                     "threshold_wei": _str_or_none(merchant.settlement_threshold_wei),
                     "threshold_token": _str_or_none(merchant.settlement_threshold_token),
                     "schedule": merchant.settlement_schedule, "payout_address": merchant.payout_address})
    if merchant.payout_address != before:
        audit_record(action="settlement.payout_address_changed", surface=AuditLog.Surface.API,
                     actor_label=actor, merchant_id=merchant.pk, target=f"merchant:{merchant.pk}",
                     request=request, detail={"before": before, "after": merchant.payout_address})
        payout_address_change_mail(merchant=merchant, before=before, who=f"The API key {actor}")
    return merchant


def _settings(merchant: Merchant) -> tuple[Any, ...]:
    return (merchant.payout_address, merchant.settlement_threshold_wei,
            merchant.settlement_threshold_token, merchant.settlement_schedule)


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)
