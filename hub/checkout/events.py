"""`CheckoutPaid` events of the Checkout contract → `CheckoutPayment` records, announced to the
registered listeners (the merchant platform credits the invoice)."""

from __future__ import annotations

from datetime import UTC, datetime

from django.conf import settings

from hub.chain.client import get_web3
from hub.chain.ingest import register_event_handler
from hub.chain.models import ChainEvent
from hub.checkout.intents import ZERO_ADDRESS, invoice_ref_from_bytes
from hub.checkout.listeners import checkout_paid
from hub.checkout.models import CheckoutPayment


def _asset(address: str) -> str | None:
    if address.lower() == ZERO_ADDRESS:
        return "wei"
    if settings.TOKEN_ADDRESS and address.lower() == str(settings.TOKEN_ADDRESS).lower():
        return "token"
    return None


def on_checkout_paid(event: ChainEvent) -> None:
    args = event.args
    asset = _asset(str(args["asset"]))
    if asset is None:  # the operator signs intents for ETH and the channel token only
        return
    if CheckoutPayment.objects.filter(chain_event=event).exists():
        return
    block = get_web3().eth.get_block(event.block_number)
    payment = CheckoutPayment.objects.create(
        chain_event=event,
        invoice_ref=invoice_ref_from_bytes(bytes.fromhex(str(args["invoice"]).removeprefix("0x"))),
        recipient=str(args["recipient"]).lower(), payer=str(args["payer"]).lower(),
        refund_destination=str(args["refundDestination"]).lower(), asset=asset,
        amount=int(args["amount"]), intent_digest=str(args["intentDigest"]).lower(),
        tx_hash=event.tx_hash, block_number=event.block_number,
        paid_at=datetime.fromtimestamp(int(block["timestamp"]), tz=UTC),
    )
    checkout_paid(payment)


def register() -> None:
    register_event_handler("CheckoutPaid", on_checkout_paid, replace=True)
