"""A merchant's leaves in the hub's proof of liabilities: its custodial balances, the user side of
its own channels, and settlements still on their way (each its own leaf, keyed by ledger
account). The hub builds and signs the tree (hub/liabilities); this only names the accounts."""

from __future__ import annotations

from typing import Any

from payments.errors import PaymentsError
from payments.merchants.selectors import merchant_addresses
from payments.settlements.models import Settlement

RECENT_SETTLEMENTS = 200


def merchant_liability_accounts(merchant_id: int) -> list[str]:
    from hub.liabilities.selectors import channel_leaf_account

    addresses = merchant_addresses(merchant_id)
    accounts = [f"custodial:{a}" for a in addresses] + [channel_leaf_account(a) for a in addresses]
    unpaid = (Settlement.objects.filter(merchant_id=merchant_id, state__in=Settlement.OPEN_STATES)
              .order_by("-id").values_list("public_id", flat=True)[:RECENT_SETTLEMENTS])
    return accounts + [f"settlement:{p}" for p in unpaid]


def merchant_liability_proof(merchant_id: int) -> dict[str, Any]:
    """The latest signed root with the merchant's own inclusion proofs; `resource_missing` when
    the hub has not published a root yet."""
    from hub.liabilities.selectors import proof_document, root_latest

    root = root_latest()
    if root is None:
        raise PaymentsError("resource_missing", "no liabilities root has been published yet")
    return proof_document(root, merchant_liability_accounts(merchant_id))
