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
