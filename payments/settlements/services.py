"""Settlements: pay a merchant's custodial balance out on-chain.

Ledger: on creation the amount moves from the merchant's `custodial:<address>` accounts to the
settlement's own `settlement:<id>` account, in the same transaction that queues the payout in the
transaction outbox. When the outbox records the outcome (exactly once, `on_complete`), a confirmed
payout moves it on to `payouts:onchain`; a failed one returns it to the custodial accounts it
came from. So a failed payout is refunded exactly once, and never while it may still be mined."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from eth_abi import encode
from eth_utils.crypto import keccak

from hub.chain.models import ChainTransaction
from hub.chain.outbox import transaction_enqueue
from hub.custodial.services import custodial_account, lock_custodial_accounts
from hub.ledger.accounts import SETTLEMENT_PAYOUTS as PAYOUTS_ACCOUNT
from hub.ledger.services import post
from ops import clock
from payments import conf, fiat
from payments.balances.selectors import custodial_balance_by_address
from payments.errors import PaymentsError
from payments.events.services import event_record
from payments.mail.services import settlement_notice
from payments.merchants.models import Merchant
from payments.merchants.selectors import merchant_addresses
from payments.settlements.models import Settlement
from payments.settlements.serializers import settlement_data
from payments.units import ASSETS

State = Settlement.State
ON_COMPLETE = "payments.settlements.services.settlement_on_payout_complete"
_TRANSFER_SELECTOR = keccak(text="transfer(address,uint256)")[:4]


def erc20_transfer_data(to: str, amount: int) -> bytes:
    return _TRANSFER_SELECTOR + encode(["address", "uint256"], [to, amount])


def settlement_execute(*, merchant_id: int, asset: str, amount: int | None = None,
                       automatic: bool = False) -> Settlement:
    """Pay `amount` (default: the whole custodial balance) of `asset` ("wei" | "token") to the
    merchant's payout address: debit the custodial accounts, record the settlement and queue
    the on-chain transaction, all in one database transaction. Events: settlement.created."""
    with transaction.atomic():
        if asset not in ASSETS:
            raise PaymentsError("parameter_invalid", "asset is wei or token", param="asset")
        merchant = Merchant.objects.select_for_update().get(pk=merchant_id)
        if not merchant.payout_address:
            raise PaymentsError("payout_address_missing", "set a payout address first")
        if asset == "token" and not settings.TOKEN_ADDRESS:
            raise PaymentsError("asset_not_configured", "token payouts are not configured on this platform",
                                param="asset")
        lock_custodial_accounts(merchant_addresses(merchant_id))
        balances = custodial_balance_by_address(merchant_id, asset)
        available = sum(b for b in balances.values() if b > 0)
        if amount is None and available <= 0:
            # a valid request the current balance cannot meet: a conflict, like asking for too much
            raise PaymentsError("balance_insufficient", f"nothing to settle: the custodial balance is 0 {asset}")
        wanted = available if amount is None else amount
        if isinstance(wanted, bool) or not isinstance(wanted, int) or wanted <= 0:
            raise PaymentsError("amount_invalid", "amount is a positive integer of base units", param="amount")
        if wanted > available:
            raise PaymentsError("balance_insufficient",
                                "the custodial balance is {amount}", param="amount", amount=(available, asset))
        debits: dict[str, int] = {}
        remaining = wanted
        for address, balance in balances.items():
            take = min(max(balance, 0), remaining)
            if take:
                debits[address] = take
                remaining -= take
        settlement = Settlement.objects.create(
            merchant=merchant, asset=asset, amount=wanted, payout_address=merchant.payout_address,
            automatic=automatic, debits={a: str(v) for a, v in debits.items()},
            **fiat.record_fields(wanted, asset, at=timezone.now(), currency=conf.FIAT_BOOKS_CURRENCY),
        )
        post([*((custodial_account(a), asset, -v) for a, v in debits.items()),
              (settlement.ledger_account, asset, wanted)], memo=f"settlement {settlement.public_id}")
        if asset == "wei":
            to, data, value = merchant.payout_address, b"", wanted
        else:
            to, data, value = str(settings.TOKEN_ADDRESS), erc20_transfer_data(merchant.payout_address, wanted), 0
        settlement.chain_transaction = transaction_enqueue(
            purpose="settlement", to=to, data=data or "0x", value=value,
            idempotency_key=f"settlement:{settlement.public_id}", on_complete=ON_COMPLETE,
        )
        settlement.save(update_fields=["chain_transaction", "updated_at"])
        event_record(type="settlement.created", merchant_id=merchant_id,
                     data={"object": settlement_data(settlement)})
        return settlement


def settlement_on_payout_complete(tx: ChainTransaction) -> None:
    """Outbox callback, inside the transaction recording the outcome (runs once per tx)."""
    settlement = Settlement.objects.select_for_update().filter(chain_transaction=tx).first()
    if settlement is None or settlement.state in (State.PAID, State.FAILED):
        return
    now = timezone.now()
    if tx.state == ChainTransaction.State.CONFIRMED:
        settlement.state = State.PAID
        post([(settlement.ledger_account, settlement.asset, -settlement.amount),
              (PAYOUTS_ACCOUNT, settlement.asset, settlement.amount)],
             memo=f"settlement {settlement.public_id} paid")
    else:
        settlement.state = State.FAILED
        settlement.failure_reason = (tx.failure_reason or "the payout transaction failed")[:2000]
        post([(settlement.ledger_account, settlement.asset, -settlement.amount),
              *((custodial_account(a), settlement.asset, int(v)) for a, v in settlement.debits.items())],
             memo=f"settlement {settlement.public_id} failed: returned")
    settlement.completed_at = now
    settlement.chain_transaction = tx
    settlement.save(update_fields=["state", "failure_reason", "completed_at", "updated_at"])
    event_record(type=f"settlement.{settlement.state}", merchant_id=settlement.merchant_id,
                 data={"object": settlement_data(settlement)},
                 idempotency_key=f"settlement.{settlement.state}:{settlement.public_id}")
    settlement_notice(merchant_id=settlement.merchant_id, merchant_name=settlement.merchant.name,
                      settlement_id=settlement.public_id, state=settlement.state,
                      amount=int(settlement.amount), asset=settlement.asset,
                      payout_address=settlement.payout_address)


def settlements_mark_submitted() -> int:
    """Persist `submitted` for pending settlements whose transaction was broadcast.

    Two statements, not one: an update filtered through the transaction's join is run by Django
    as `WHERE id IN (SELECT ...)`, and when it waits on a row the outbox callback is marking paid
    at that moment, PostgreSQL re-checks only the outer WHERE, not the subquery's `state =
    'pending'`: the paid settlement went back to `submitted` for good (seen in the scheduled-jobs
    test). The second statement's own `state = 'pending'` is re-checked on the row as committed."""
    broadcast = list(Settlement.objects.filter(
        state=State.PENDING, chain_transaction__state=ChainTransaction.State.SUBMITTED
    ).values_list("pk", flat=True))
    if not broadcast:
        return 0
    return Settlement.objects.filter(pk__in=broadcast, state=State.PENDING).update(
        state=State.SUBMITTED, updated_at=timezone.now())


SCHEDULE_PERIODS = {
    Merchant.SettlementSchedule.DAILY: timedelta(days=1),
    Merchant.SettlementSchedule.WEEKLY: timedelta(days=7),
}


def settlements_run_automatic(*, now: datetime | None = None) -> list[Settlement]:
    """Settle every merchant whose custodial balance reached its threshold, or whose schedule
    is due. Each merchant is settled in its own transaction, which decides whether it is due
    under the merchant row's lock: two runs at once (two schedulers, a misfire) settle once.
    Refusals are skipped."""
    now = now or clock.now()
    created: list[Settlement] = []
    merchants = Merchant.objects.exclude(payout_address="").exclude(
        settlement_threshold_wei__isnull=True, settlement_threshold_token__isnull=True,
        settlement_schedule=Merchant.SettlementSchedule.NONE,
    ).values_list("pk", flat=True)
    for merchant_id in list(merchants):
        created.extend(_settle_if_due(merchant_id, now))
    return created


def _settle_if_due(merchant_id: int, now: datetime) -> list[Settlement]:
    """One merchant's automatic settlements, decided and made under its row lock."""
    created: list[Settlement] = []
    with transaction.atomic():
        merchant = Merchant.objects.select_for_update().filter(pk=merchant_id).first()
        if merchant is None or not merchant.payout_address:
            return created
        period = SCHEDULE_PERIODS.get(merchant.settlement_schedule)  # type: ignore[call-overload]
        scheduled = period is not None and (
            merchant.last_scheduled_settlement_at is None
            or merchant.last_scheduled_settlement_at + period <= now
        )
        for asset in ASSETS:
            threshold = merchant.settlement_threshold(asset)
            balance = sum(custodial_balance_by_address(merchant.pk, asset).values())
            if balance <= 0 or not (scheduled or (threshold is not None and balance >= threshold)):
                continue
            try:
                created.append(settlement_execute(merchant_id=merchant.pk, asset=asset, automatic=True))
            except PaymentsError:
                continue
        if scheduled:
            Merchant.objects.filter(pk=merchant.pk).update(last_scheduled_settlement_at=now)
    return created
