"""A merchant's balances: custodial (ledger accounts `custodial:<address>`), in its own
channels (addresses in channel mode), and pending settlement."""

from __future__ import annotations

from django.db.models import Sum

from hub.custodial.services import custodial_account
from hub.ledger.services import account_balance
from payments.merchants.models import ReceivingAddress
from payments.merchants.selectors import merchant_addresses
from payments.units import ASSETS


def custodial_balance_by_address(merchant_id: int, asset: str) -> dict[str, int]:
    return {a: account_balance(custodial_account(a), asset) for a in merchant_addresses(merchant_id)}


def custodial_balance(merchant_id: int, asset: str) -> int:
    return sum(custodial_balance_by_address(merchant_id, asset).values())


def channel_balance(merchant_id: int) -> dict[str, int]:
    """The user-side balances of the merchant's channel-mode addresses, per asset."""
    totals = dict.fromkeys(ASSETS, 0)
    addresses = merchant_addresses(merchant_id, mode=ReceivingAddress.Mode.CHANNEL)
    if not addresses:
        return totals
    from hub.channels.errors import ChannelError
    from hub.channels.records import channel_find, channel_state

    for address in addresses:
        try:
            state = channel_state(channel_find(address), address)
        except ChannelError:  # contracts not deployed: no channels
            return totals
        totals["wei"] += state.balance_wei_user
        totals["token"] += state.balance_token_user
    return totals


def pending_settlement(merchant_id: int) -> dict[str, int]:
    from payments.settlements.models import Settlement

    rows = (
        Settlement.objects.filter(merchant_id=merchant_id, state__in=Settlement.OPEN_STATES)
        .values("asset").annotate(total=Sum("amount"))
    )
    totals = dict.fromkeys(ASSETS, 0)
    for row in rows:
        totals[row["asset"]] = int(row["total"] or 0)
    return totals


def merchant_balance(merchant_id: int) -> dict[str, dict[str, int]]:
    return {
        "custodial": {asset: custodial_balance(merchant_id, asset) for asset in ASSETS},
        "channel": channel_balance(merchant_id),
        "pending_settlement": pending_settlement(merchant_id),
    }
