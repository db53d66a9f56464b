from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from payments.api.base import MerchantAPIView
from payments.balances.selectors import merchant_balance
from payments.serialization import ASSET_CHOICES, AmountString


class MoneySerializer(serializers.Serializer):
    amount = AmountString()
    asset = serializers.ChoiceField(choices=ASSET_CHOICES)


class BalanceSerializer(serializers.Serializer):
    object = serializers.ChoiceField(choices=["balance"])
    custodial = MoneySerializer(many=True, help_text="held by the hub for the merchant")
    channel = MoneySerializer(many=True, help_text="in the merchant's own channels")
    pending_settlement = MoneySerializer(many=True, help_text="on the way to the payout address")


def _money(per_asset: dict[str, int]) -> list[dict[str, Any]]:
    return [{"amount": str(amount), "asset": asset} for asset, amount in per_asset.items()]


class BalanceView(MerchantAPIView):
    resource = "balance"

    @extend_schema(operation_id="balance_retrieve", responses=BalanceSerializer)
    def get(self, request: Request) -> Response:
        balance = merchant_balance(self.merchant_id)
        return Response({"object": "balance", **{k: _money(v) for k, v in balance.items()}})


class LiabilityProofView(MerchantAPIView):
    """The hub's latest signed proof-of-liabilities root and the merchant's own inclusion proofs
    (custodial balances, its channels' user side, settlements on their way). Verify each proof
    offline with `spoke_client.verify_liability_proof(proof, root, root["hub"])`, after checking
    `root["hub"]` is the hub you expect."""

    resource = "balance"

    @extend_schema(operation_id="liabilities_proof_retrieve",
                   responses=inline_serializer("LiabilityProof", fields={
                       "root": serializers.DictField(), "accounts": serializers.ListField(
                           child=serializers.CharField()),
                       "proofs": serializers.ListField(child=serializers.DictField())}))
    def get(self, request: Request) -> Response:
        from payments.balances.liabilities import merchant_liability_proof

        return Response(merchant_liability_proof(self.merchant_id))
