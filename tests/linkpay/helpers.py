"""Links made the way the Connext client makes them (a PT_LINK purchase with `meta.secret`), or
delivered directly, and channels written directly for the service-level tests."""

from __future__ import annotations

import secrets
from typing import Any

from django.db import transaction

from hub.chain.signer import hub_state_signer
from hub.channels.models import Channel, ChannelUpdate
from hub.channels.records import contract_address
from hub.core import ZERO_ROOT, ChannelState
from hub.core.hashing import channel_state_hash
from hub.core.signing import Signer
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


def channel_at(*, wei_hub: int = 0, token_hub: int = 0, timeout: int = 0, status: str = "open",
               user: Signer | None = None, tx_count: int = 1) -> Channel:
    """A user's channel whose latest double-signed state has these hub balances, written
    directly (the hub signs for real). Given `user`, its channel gets that state as its next one
    (`tx_count` above the latest): the hub's collateral arrived."""
    user = user or Signer(secrets.token_bytes(32))
    address = user.address.lower()
    state = ChannelState(contract_address=contract_address(), user=address, recipient=address,
                         balance_wei_hub=wei_hub, balance_token_hub=token_hub, balance_token_user=1,
                         tx_count_global=tx_count, tx_count_chain=1, thread_root=ZERO_ROOT, timeout=timeout)
    state = user.sign_channel_state(hub_state_signer().sign_channel_state(state), as_party="user")
    with transaction.atomic():
        channel, _ = Channel.objects.get_or_create(contract=contract_address(), user=address,
                                                   defaults={"status": status})
        update = ChannelUpdate.objects.create(
            channel=channel, reason="ConfirmPending", originator=address, recipient=address,
            balance_wei_hub=wei_hub, balance_token_hub=token_hub, balance_token_user=1,
            tx_count_global=tx_count, tx_count_chain=1, thread_root=ZERO_ROOT, timeout=timeout,
            state_hash=channel_state_hash(state), sig_hub=state.sig_hub, sig_user=state.sig_user)
        Channel.objects.filter(pk=channel.pk).update(latest_update=update)
    found = Channel.objects.get(pk=channel.pk)
    found.signer = user  # type: ignore[attr-defined]
    return found


def deliver(sender: str, *, token: int = 0, wei: int = 0, meta: dict[str, Any] | None = None,
            secret: str | None = "", recipient: str = ZERO_ADDRESS) -> tuple[str | None, Link]:
    """A PT_LINK payment of `sender` delivered as its purchase does (the payer's own channel
    state is not the link's business). `secret` "" draws a new one; None: none (meta.secretHash)."""
    from hub.purchases.models import Payment, Purchase
    from hub.purchases.types import PaymentRequest, Purchasing
    from linkpay.services import deliver_link

    if secret == "":
        secret = register(secret_new())
    purchase = Purchase.objects.create(id="pur_" + secrets.token_hex(16), sender=sender, meta={})
    payment = Payment(purchase=purchase, sender=sender, recipient=recipient, amount_wei=wei,
                      amount_token=token, type="PT_LINK", meta=meta or {})
    request = PaymentRequest(recipient=recipient, amount_wei=wei, amount_token=token, type="PT_LINK",
                             meta=meta or {}, tx_count=0, sig_user="", secret=secret)
    with transaction.atomic():
        deliver_link(Purchasing(purchase=purchase, sender=sender, locked={}), payment, request)
    return secret, Link.objects.get(payment=payment)
