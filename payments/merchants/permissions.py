"""Who may do what: the resources of the merchant platform and each team role's access.

One table for dashboard users (by role) and the vocabulary API keys are scoped with."""

from __future__ import annotations

from typing import Literal

Access = Literal["read", "write"]

RESOURCES = (
    "balance", "payments", "invoices", "refunds", "settlements", "links", "api_keys",
    "webhooks", "team", "events",
)
ACCESS_LEVELS = ("read", "write")

OWNER, MANAGER, STAFF = "owner", "manager", "staff"

# resource -> the highest access of each role ("write" implies "read"; absent means none).
ROLE_PERMISSIONS: dict[str, dict[str, Access]] = {
    OWNER: dict.fromkeys(RESOURCES, "write"),
    MANAGER: {
        "balance": "read", "payments": "write", "invoices": "write", "refunds": "write",
        "settlements": "write", "links": "write", "api_keys": "read", "webhooks": "write",
        "team": "read", "events": "read",
    },
    # Staff may not send money out: a funded link is claimed by whoever holds its URL, to any
    # address, so creating one is a withdrawal by another name (links write needs settlements
    # write; see MONEY_OUT).
    STAFF: {
        "balance": "read", "payments": "read", "invoices": "write", "refunds": "read",
        "settlements": "read", "links": "read", "events": "read",
    },
}

# Resources whose write sends the merchant's money out (settlements, refunds, funded links): a
# role gets write on one of them only if it may settle.
MONEY_OUT = ("settlements", "refunds", "links")


def access_allows(granted: str | None, wanted: Access) -> bool:
    if granted == "write":
        return True
    return granted == "read" and wanted == "read"


def role_allows(role: str, resource: str, access: Access) -> bool:
    """True when a team member with `role` may `access` (read|write) `resource`."""
    return access_allows(ROLE_PERMISSIONS.get(role, {}).get(resource), access)
