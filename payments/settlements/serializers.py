from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from hub.chain.models import ChainTransaction
from payments.serialization import (
    ASSET_CHOICES,
    AmountString,
    FiatValueFields,
    PositiveAmountString,
    Timestamp,
)
from payments.settlements.models import Settlement


class SettlementTransactionSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=ChainTransaction.State.values)
    tx_hash = serializers.CharField(allow_null=True, help_text="the mined attempt's hash")
    attempt_hashes = serializers.ListField(child=serializers.CharField())
    block_number = serializers.IntegerField(allow_null=True)
    block_hash = serializers.CharField(allow_null=True)
    gas_used = serializers.IntegerField(allow_null=True)
    effective_gas_price = AmountString(allow_null=True)
    receipt_status = serializers.IntegerField(allow_null=True)
    failure_reason = serializers.CharField(allow_blank=True)


def transaction_data(tx: ChainTransaction | None) -> dict[str, Any] | None:
    if tx is None:
        return None
    return {
        "state": tx.state,
        "tx_hash": tx.tx_hash or None,
        "attempt_hashes": [a.tx_hash for a in tx.attempts.all()],
        "block_number": tx.block_number,
        "block_hash": tx.block_hash or None,
        "gas_used": tx.gas_used,
        "effective_gas_price": None if tx.effective_gas_price is None else str(tx.effective_gas_price),
        "receipt_status": tx.receipt_status,
        "failure_reason": tx.failure_reason,
    }


def displayed_state(settlement: Settlement) -> str:
    tx = settlement.chain_transaction
    if settlement.state == Settlement.State.PENDING and tx is not None and tx.state != ChainTransaction.State.NEW:
        return Settlement.State.SUBMITTED
    return settlement.state


class SettlementSerializer(FiatValueFields):
    id = serializers.CharField(source="public_id")
    object = serializers.SerializerMethodField()
    amount = AmountString()
    asset = serializers.ChoiceField(choices=ASSET_CHOICES)
    payout_address = serializers.CharField()
    status = serializers.SerializerMethodField()
    automatic = serializers.BooleanField()
    failure_reason = serializers.CharField()
    transaction = serializers.SerializerMethodField()
    created = Timestamp(source="created_at")
    completed_at = Timestamp(allow_null=True)

    def get_object(self, obj: Any) -> str:
        return "settlement"

    @extend_schema_field(serializers.ChoiceField(choices=Settlement.State.values))
    def get_status(self, obj: Settlement) -> str:
        return displayed_state(obj)

    @extend_schema_field(SettlementTransactionSerializer(allow_null=True))
    def get_transaction(self, obj: Settlement) -> dict[str, Any] | None:
        return transaction_data(obj.chain_transaction)


class SettlementCreateSerializer(serializers.Serializer):
    asset = serializers.ChoiceField(choices=ASSET_CHOICES)
    amount = PositiveAmountString(required=False, help_text="default: the whole custodial balance")


def settlement_data(settlement: Settlement) -> dict[str, Any]:
    return dict(SettlementSerializer(settlement).data)


class SettlementReportLineSerializer(serializers.Serializer):
    """One line of a settlement's itemised report (the dashboard's CSV has the same columns)."""

    kind = serializers.ChoiceField(
        choices=["payment", "refund", "fee", "settlement", "balance_change"],
        help_text="payment received, refund paid, platform fee (none is charged: a zero line), the "
                  "settlement's payout, and the balance change they add up to")
    id = serializers.CharField(allow_blank=True, help_text="the payment, refund or settlement id (blank for fee and "
                                                           "balance_change)")
    time = serializers.DateTimeField(help_text="when it happened")
    asset = serializers.CharField(help_text='"wei" or "token"')
    amount = serializers.CharField(help_text="base units as a decimal string: payments positive, refunds and the "
                                             "payout negative; the lines sum to zero with balance_change")
    fiat_currency = serializers.CharField(allow_blank=True, help_text="the books' fiat currency")
    fiat_value = serializers.CharField(allow_null=True, help_text="fiat value when it happened (decimal string)")
    fiat_rate = serializers.CharField(allow_blank=True, help_text="the rate used (fiat per whole unit)")
    fiat_rate_source = serializers.CharField(allow_blank=True, help_text="where the rate came from")
    fiat_rate_at = serializers.DateTimeField(allow_null=True, help_text="the rate's time")
    invoice = serializers.CharField(allow_blank=True, help_text="the invoice the line paid or refunded, if any")
    note = serializers.CharField(allow_blank=True, help_text="the payment type, refund reason or a remark")


class SettlementReportSerializer(serializers.Serializer):
    object = serializers.CharField(help_text='always "settlement_report"')
    settlement = serializers.CharField(help_text="the settlement's id")
    lines = SettlementReportLineSerializer(many=True, help_text="every payment, refund and fee the settlement "
                                                                "covers since the previous settlement of its asset")


def settlement_report_data(settlement: Settlement, lines: list[list[Any]]) -> dict[str, Any]:
    """The report's lines (payments.settlements.selectors.settlement_report) as API objects."""
    def text(value: Any) -> str:
        return "" if value is None else str(value)

    rows = []
    for kind, ident, time, asset, amount, cur, value, rate, source, rate_at, invoice, note in lines:
        rows.append({"kind": kind, "id": ident, "time": time, "asset": asset, "amount": str(int(amount)),
                     "fiat_currency": text(cur), "fiat_value": None if value in (None, "") else str(value),
                     "fiat_rate": text(rate), "fiat_rate_source": text(source),
                     "fiat_rate_at": rate_at or None, "invoice": text(invoice), "note": text(note)})
    return SettlementReportSerializer({"object": "settlement_report", "settlement": settlement.public_id,
                                       "lines": rows}).data
