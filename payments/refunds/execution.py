"""Paying merchant refunds back to the payer from the merchant's custodial balance: off-chain, in
the payer's channel, or a link when the payer's channel cannot receive it now; a payment made on
chain through the Checkout contract (PT_CHECKOUT) is paid back on chain to the refund
destination its intent named, through the transaction outbox.

On chain, the amount leaves the merchant's custodial account for `hub:onchain_payouts` in the
transaction that queues the payout (as a custodial withdrawal does); the refund stays pending
until the outbox records the outcome (`refund_on_chain_complete`, exactly once): confirmed, it
succeeds; failed, the amount goes back to the custodial account and the refund fails."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest

from hub.chain.models import ChainTransaction
from hub.chain.outbox import transaction_enqueue
from hub.custodial.services import (
    FLOAT,
    custodial_account,
    custodial_debit,
    lock_custodial_accounts,
)
from hub.ledger.accounts import ONCHAIN_PAYOUTS
from hub.ledger.services import account_balance, post
from hub.purchases.models import Payment, RefundExecution
from hub.purchases.services import hub_pay_user
from ops import clock
from payments.merchants.selectors import merchant_addresses
from payments.refunds.models import Refund
from payments.refunds.services import (
    paid_on_chain,
    refund_mark_failed,
    refund_mark_succeeded,
    refunds_pending,
)
from payments.settlements.services import erc20_transfer_data

logger = logging.getLogger(__name__)
GIVE_UP_AFTER = timedelta(hours=24)
ON_CHAIN_COMPLETE = "payments.refunds.execution.refund_on_chain_complete"


@dataclass(frozen=True)
class RefundLink:
    """A link a refund was paid into; its secret is shown once, to the merchant."""

    public_id: str
    secret: str
    url: Callable[[HttpRequest], str]  # the link's page, its secret in the fragment


# Pays a refund into a new link funded from the merchant's custodial balance:
# issuer(merchant_id=, amount=, asset=, note=). Registered by the links app (LinkpayConfig.ready()).
RefundLinkIssuer = Callable[..., RefundLink]
_link_issuers: list[RefundLinkIssuer] = []


def issue_refund_links_with(issuer: RefundLinkIssuer) -> None:
    _link_issuers[:] = [issuer]


@dataclass
class RefundOutcome:
    method: str  # "channel", "link", "onchain" (queued), or "" when nothing happened (yet)
    link: RefundLink | None = None


def refund_execute(*, refund_id: str, allow_link: bool) -> RefundOutcome:
    """Execute a pending refund exactly once (the refund row is locked and must be pending).
    With `allow_link`, a payer whose channel cannot receive now gets a link instead (the caller
    shows its secret to the merchant, once). Without it, the refund stays pending for the next
    sweep, and fails after 24 hours (the merchant can then send a link)."""
    with transaction.atomic():
        refund = Refund.objects.select_for_update().filter(public_id=refund_id).first()
        if refund is None or refund.state != Refund.State.PENDING:
            return RefundOutcome("")
        if refund.chain_transaction_id is not None:
            return RefundOutcome("")  # on its way on chain: the outbox records the outcome
        payment = Payment.objects.get(pk=refund.payment_id)
        source = payment.recipient
        lock_custodial_accounts(merchant_addresses(refund.merchant_id) or [source])
        wei, token = (refund.amount, 0) if refund.asset == "wei" else (0, refund.amount)
        if account_balance(custodial_account(source), refund.asset) < refund.amount:
            refund_mark_failed(refund_id=refund.public_id, reason="balance_insufficient")
            return RefundOutcome("")
        if paid_on_chain(payment):
            return _pay_back_on_chain(refund, source=source, wei=wei, token=token)
        paid = hub_pay_user(user=payment.sender, amount_wei=wei, amount_token=token,
                            memo=f"refund {refund.public_id}")
        if paid is not None:
            custodial_debit(owner=source, amount_wei=wei, amount_token=token,
                            memo=f"refund {refund.public_id}", counter_account=FLOAT)
            RefundExecution.objects.create(refund_public_id=refund.public_id, method="channel",
                                           channel_update=paid.update)
            refund_mark_succeeded(refund_id=refund.public_id)
            return RefundOutcome("channel")
        if allow_link and _link_issuers:
            issued = _link_issuers[0](merchant_id=refund.merchant_id, amount=refund.amount,
                                      asset=refund.asset, note=f"Refund {refund.public_id}")
            RefundExecution.objects.create(refund_public_id=refund.public_id, method="link",
                                           link_public_id=issued.public_id)
            refund_mark_succeeded(refund_id=refund.public_id)
            return RefundOutcome("link", issued)
        if clock.now() - refund.created_at > GIVE_UP_AFTER:
            refund_mark_failed(refund_id=refund.public_id, reason="payer_unreachable")
        return RefundOutcome("")


def _pay_back_on_chain(refund: Refund, *, source: str, wei: int, token: int) -> RefundOutcome:
    """Queue the payment back to the refund destination (inside refund_execute's transaction,
    the refund row and the custodial accounts locked, the balance checked)."""
    if refund.asset == "token" and not settings.TOKEN_ADDRESS:
        refund_mark_failed(refund_id=refund.public_id, reason="asset_not_configured")
        return RefundOutcome("")
    custodial_debit(owner=source, amount_wei=wei, amount_token=token,
                    memo=f"refund {refund.public_id} on chain", counter_account=ONCHAIN_PAYOUTS)
    if refund.asset == "wei":
        to, data, value = refund.recipient, b"", int(refund.amount)
    else:
        to, data, value = str(settings.TOKEN_ADDRESS), erc20_transfer_data(refund.recipient, int(refund.amount)), 0
    refund.chain_transaction = transaction_enqueue(
        purpose="refund", to=to, data=data or "0x", value=value,
        idempotency_key=f"refund:{refund.public_id}", on_complete=ON_CHAIN_COMPLETE)
    refund.save(update_fields=["chain_transaction"])
    return RefundOutcome("onchain")


def refund_on_chain_complete(tx: ChainTransaction) -> None:
    """Outbox callback, inside the transaction recording the outcome (runs once per tx)."""
    refund = Refund.objects.select_for_update().filter(chain_transaction=tx).first()
    if refund is None or refund.state != Refund.State.PENDING:
        return
    if tx.state == ChainTransaction.State.CONFIRMED:
        refund_mark_succeeded(refund_id=refund.public_id)
        return
    payment = Payment.objects.get(pk=refund.payment_id)
    lock_custodial_accounts([payment.recipient])
    post([(custodial_account(payment.recipient), refund.asset, int(refund.amount)),
          (ONCHAIN_PAYOUTS, refund.asset, -int(refund.amount))],
         memo=f"refund {refund.public_id} failed on chain: returned")
    refund_mark_failed(refund_id=refund.public_id,
                       reason=(tx.failure_reason or "the refund transaction failed")[:2000])


def refunds_sweep() -> int:
    done = 0
    for refund_id in refunds_pending():
        try:
            if refund_execute(refund_id=refund_id, allow_link=False).method:
                done += 1
        except Exception:  # one refund must not block the rest
            logger.exception("refund %s could not be executed", refund_id)
    return done
