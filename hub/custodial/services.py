"""Custodial balances (ledger accounts `custodial:<address>`, per asset) and their payouts.

A custodial credit is the hub's liability to a recipient; it is balanced against the hub's
`hub:custodial_float` account. A withdrawal debits the liability and credits
`hub:onchain_payouts` in the same transaction that records the outbox payout; a payout that
fails on-chain reverses both, exactly once (the outbox completion callback)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone

from hub.chain.outbox import transaction_enqueue
from hub.channels.errors import ChannelError
from hub.core import UpdateRejected, parse_address
from hub.core.rates import token_to_wei
from hub.core.state import parse_uint
from hub.custodial.models import CustodialWithdrawal
from hub.ledger.accounts import CUSTODIAL_FLOAT as FLOAT
from hub.ledger.accounts import ONCHAIN_PAYOUTS as PAYOUTS
from hub.ledger.accounts import custodial as custodial_account
from hub.ledger.models import LedgerEntry
from hub.ledger.services import account_balance, post
from hub.rates.services import rate_current
from ops.models import GlobalSwitches

MIN_WITHDRAWAL_TOKEN = 10**17  # 0.1 token (the original hub's minimum)
MIN_WITHDRAWAL_WEI = 10**13
ON_COMPLETE = "hub.custodial.services.custodial_withdrawal_completed"


def custodial_credit(*, recipient: str, amount_wei: int, amount_token: int, memo: str,
                     counter_account: str = FLOAT) -> None:
    """Owe `recipient` these amounts (inside the caller's transaction), from `counter_account`
    (the custodial float; what the Checkout contract paid the hub, for checkout payments)."""
    account = custodial_account(recipient)
    post([(account, "wei", amount_wei), (counter_account, "wei", -amount_wei),
          (account, "token", amount_token), (counter_account, "token", -amount_token)], memo=memo)


def custodial_debit(*, owner: str, amount_wei: int, amount_token: int, memo: str,
                    counter_account: str = FLOAT) -> None:
    """Take amounts out of `owner`'s custodial balance towards `counter_account`. The caller
    holds the owner's lock (`lock_custodial`) and has checked the balance."""
    account = custodial_account(owner)
    post([(account, "wei", -amount_wei), (counter_account, "wei", amount_wei),
          (account, "token", -amount_token), (counter_account, "token", amount_token)], memo=memo)


def lock_custodial_accounts(addresses: list[str]) -> None:
    """Serialize every read-check-debit of these custodial accounts until the transaction ends
    (transaction-scoped advisory locks, taken in sorted order so two lockers never deadlock).
    Anything that debits a `custodial:<address>` account takes this lock first."""
    with connection.cursor() as cursor:
        for address in sorted({a.lower() for a in addresses}):
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                           [custodial_account(address)])


# Rules the layers above add on who may withdraw a custodial balance; each raises to refuse
# (the merchant platform: a merchant's receiving address is paid out by settlements only).
_withdrawal_guards: list[Callable[[str], None]] = []


def guard_withdrawals(guard: Callable[[str], None]) -> None:
    """Register `guard(address)`, called before a custodial withdrawal from `address`."""
    if guard not in _withdrawal_guards:
        _withdrawal_guards.append(guard)


# Who receives custodially when they have no channel (the merchant platform: its receiving
# addresses), so that a channel payment to them is kept as their custodial balance.
_custodial_recipients: list[Callable[[str], bool]] = []


def receive_custodially(predicate: Callable[[str], bool]) -> None:
    """Register `predicate(address)`: True when a channel payment to `address`, which has no
    channel, is to be kept as its custodial balance instead of being refused."""
    if predicate not in _custodial_recipients:
        _custodial_recipients.append(predicate)


def receives_custodially(address: str) -> bool:
    return any(predicate(address) for predicate in _custodial_recipients)


def _check_withdrawal_allowed(address: str) -> None:
    for guard in _withdrawal_guards:
        guard(address)


def lock_custodial(address: str) -> None:
    """Serialise writers of one custodial balance (the lock settlements and refunds take too)."""
    lock_custodial_accounts([address])


def custodial_balance(address: str) -> dict[str, Any]:
    """The Connext client's custodial balance row."""
    account = custodial_account(address)
    rows = LedgerEntry.objects.filter(account=account)

    def total(asset: str, positive: bool) -> int:
        q = rows.filter(asset=asset, amount__gt=0) if positive else rows.filter(asset=asset, amount__lt=0)
        return abs(int(q.aggregate(t=Sum("amount"))["t"] or 0))

    sent_wei = CustodialWithdrawal.objects.filter(
        user=address.lower(), state__in=["pending", "confirmed"]).aggregate(t=Sum("sent_wei"))["t"]
    return {
        "user": address.lower(),
        "totalReceivedWei": str(total("wei", True)),
        "totalReceivedToken": str(total("token", True)),
        "totalWithdrawnWei": str(total("wei", False)),
        "totalWithdrawnToken": str(total("token", False)),
        "balanceWei": str(account_balance(account, "wei")),
        "balanceToken": str(account_balance(account, "token")),
        "sentWei": str(int(sent_wei or 0)),
    }


def custodial_withdraw(*, user: str, recipient: Any, amount_token: Any = "0", amount_wei: Any = "0",
                       payout_asset: str = "eth") -> CustodialWithdrawal:
    """Pay part of `user`'s custodial balance to `recipient` on-chain through the outbox: the
    token balance as ETH at the hub's current rate (the Connext behaviour) or as tokens, and the
    wei balance as ETH. At most the balance; at least the minimums. At most once per row."""
    with transaction.atomic():
        if not GlobalSwitches.current().withdrawals_enabled:
            raise ChannelError("withdrawals_disabled", "withdrawals are switched off", status=503)
        user = parse_address(user, "user")
        _check_withdrawal_allowed(user)
        to = parse_address(recipient, "recipient")
        tokens = parse_uint(amount_token or "0", "amountToken")
        wei = parse_uint(amount_wei or "0", "amountWei")
        if payout_asset not in ("eth", "token"):
            raise UpdateRejected("bad_args", "payoutAsset is eth or token")
        if tokens == 0 and wei == 0:
            raise UpdateRejected("bad_args", "nothing to withdraw")
        if 0 < tokens < MIN_WITHDRAWAL_TOKEN or 0 < wei < MIN_WITHDRAWAL_WEI:
            raise ChannelError("below_minimum", "custodial withdrawals are at least 0.1 token / 1e13 wei")
        lock_custodial(user)
        account = custodial_account(user)
        if tokens > account_balance(account, "token") or wei > account_balance(account, "wei"):
            raise UpdateRejected("insufficient_balance", "the custodial balance is smaller than that")
        rate_text = ""
        sent_wei, sent_token = wei, 0
        if tokens and payout_asset == "eth":
            rate = rate_current()
            if rate is None:
                raise UpdateRejected("rate_unavailable", "the hub has no exchange rate younger than 24 h")
            rate_text = rate.rate
            sent_wei += token_to_wei(tokens, rate.rate)
        elif tokens:
            sent_token = tokens
        withdrawal = CustodialWithdrawal.objects.create(
            user=user, recipient=to, requested_token=tokens, requested_wei=wei,
            payout_asset=payout_asset, exchange_rate=rate_text, sent_wei=sent_wei, sent_token=sent_token,
        )
        custodial_debit(owner=user, amount_wei=wei, amount_token=tokens,
                        memo=f"custodial withdrawal {withdrawal.pk}", counter_account=PAYOUTS)
        withdrawal.chain_transaction = _enqueue_payout(withdrawal)
        withdrawal.save(update_fields=["chain_transaction"])
        return withdrawal


def _enqueue_payout(withdrawal: CustodialWithdrawal) -> Any:
    from django.conf import settings

    key = f"custodial-withdrawal:{withdrawal.pk}"
    if withdrawal.sent_token:
        from eth_abi import encode
        from eth_utils import function_signature_to_4byte_selector

        data = "0x" + (function_signature_to_4byte_selector("transfer(address,uint256)")
                       + encode(["address", "uint256"], [withdrawal.recipient, withdrawal.sent_token])).hex()
        return transaction_enqueue(purpose="custodial_withdrawal", to=str(settings.TOKEN_ADDRESS),
                                   data=data, value=0, idempotency_key=key, on_complete=ON_COMPLETE)
    return transaction_enqueue(purpose="custodial_withdrawal", to=withdrawal.recipient, data="0x",
                               value=withdrawal.sent_wei, idempotency_key=key, on_complete=ON_COMPLETE)


def custodial_withdrawal_completed(tx: Any) -> None:
    """Outbox callback, once per transaction: confirm, or give the balance back on failure."""
    withdrawal = CustodialWithdrawal.objects.select_for_update().filter(chain_transaction=tx).first()
    if withdrawal is None or withdrawal.state != CustodialWithdrawal.State.PENDING:
        return
    if tx.state == "confirmed":
        withdrawal.state = CustodialWithdrawal.State.CONFIRMED
    else:
        withdrawal.state = CustodialWithdrawal.State.FAILED
        lock_custodial(withdrawal.user)
        post([(custodial_account(withdrawal.user), "wei", withdrawal.requested_wei),
              (PAYOUTS, "wei", -withdrawal.requested_wei),
              (custodial_account(withdrawal.user), "token", withdrawal.requested_token),
              (PAYOUTS, "token", -withdrawal.requested_token)],
             memo=f"custodial withdrawal {withdrawal.pk} failed: returned")
    withdrawal.completed_at = timezone.now()
    withdrawal.save(update_fields=["state", "completed_at"])


def withdrawal_json(w: CustodialWithdrawal) -> dict[str, Any]:
    tx = w.chain_transaction
    return {
        "id": w.pk, "user": w.user, "recipient": w.recipient,
        "requestedToken": str(w.requested_token), "requestedWei": str(w.requested_wei),
        "payoutAsset": w.payout_asset, "exchangeRate": w.exchange_rate,
        "sentWei": str(w.sent_wei), "sentToken": str(w.sent_token), "state": w.state,
        "onchainTransactionId": tx.pk if tx else None,
        "createdOn": w.created_at.isoformat(),
    }
