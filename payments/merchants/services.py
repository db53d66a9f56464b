"""Writes for merchants, their teams and receiving addresses."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from eth_utils.address import is_address

from payments.errors import PaymentsError
from payments.merchants.models import Membership, Merchant, ReceivingAddress


def normalize_address(value: str, *, param: str = "address") -> str:
    if not isinstance(value, str) or not value.startswith("0x") or not is_address(value):
        raise PaymentsError("address_invalid", "expected a 0x-prefixed Ethereum address", param=param)
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
    if payout_address is not None:
        merchant.payout_address = normalize_address(payout_address, param="payout_address")
    merchant.save()
    return merchant
