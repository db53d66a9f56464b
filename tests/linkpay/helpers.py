"""Links made the way the Connext client makes them: a PT_LINK purchase with `meta.secret`."""

from __future__ import annotations

from typing import Any

from hub.core.state import ZERO_ADDRESS
from hub.ledger.models import LedgerEntry
from linkpay.models import Link
from linkpay.secret import secret_new
from tests.hub.api.user_sim import UserSim
from tests.linkpay.secret_scan import register
from tests.purchases.helpers import pay_request


def buy_link(sender: UserSim, *, token: int = 0, wei: int = 0, secret: str | None = None,
             meta: dict[str, Any] | None = None) -> tuple[str, Link]:
    secret = register(secret or secret_new())
    response = sender.post("payments/purchase", {"meta": {}, "payments": [
        pay_request(sender, ZERO_ADDRESS, token=token, wei=wei, ptype="PT_LINK",
                    meta={"secret": secret, **(meta or {})})]})
    assert response.status_code == 200, response.content
    return secret, Link.objects.get(payment__purchase_id=response.json()["purchaseId"])


def redeem(sim: UserSim, secret: str) -> Any:
    return sim.post(f"payments/redeem/{sim.address}", {
        "secret": secret, "lastChanTx": sim.latest.tx_count_global, "lastThreadUpdateId": 0})


def link_entries(link: Link) -> list[tuple[int, str]]:
    """The link's hold account in the ledger, oldest first: (amount, memo)."""
    return [(int(a), m) for a, m in LedgerEntry.objects.filter(account=link.ledger_account)
            .order_by("id").values_list("amount", "memo")]
