from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from payments.api.base import MerchantAPIView
from payments.balances.selectors import merchant_balance
from payments.serialization import ASSET_CHOICES, AmountString, Timestamp


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


class InstantAssetSerializer(serializers.Serializer):
    asset = serializers.ChoiceField(choices=ASSET_CHOICES)
    instant_channel = AmountString(help_text="what the hub holds now in the merchant's open channels: "
                                             "payments up to it land at once")
    largest_instant_channel_payment = AmountString(help_text="the most one channel payment can bring at once")
    in_flight = AmountString(help_text="top-ups on their way into those channels")


class AssetAmountsSerializer(serializers.Serializer):
    wei = AmountString()
    token = AmountString()


class AddressLiquiditySerializer(serializers.Serializer):
    address = serializers.CharField()
    mode = serializers.ChoiceField(choices=["custodial", "channel"])
    unlimited = serializers.BooleanField(help_text="custodial: any amount is credited at once")
    channel_status = serializers.CharField(allow_null=True, help_text="null: custodial, or no channel yet")
    instant = AssetAmountsSerializer(allow_null=True)
    in_flight = AssetAmountsSerializer(allow_null=True)


class PercentilesSerializer(serializers.Serializer):
    p50 = serializers.IntegerField(allow_null=True)
    p90 = serializers.IntegerField(allow_null=True)
    p99 = serializers.IntegerField(allow_null=True)


class TimeToCollateralSerializer(serializers.Serializer):
    window_days = serializers.IntegerField()
    top_ups = serializers.IntegerField(help_text="top-ups the hub proposed in the window")
    confirmed = serializers.IntegerField(help_text="of which the deposit reached the channel")
    seconds = PercentilesSerializer(help_text="proposal to deposit in the channel, seconds")


class TopUpSerializer(serializers.Serializer):
    address = serializers.CharField(source="user")
    asset = serializers.ChoiceField(choices=ASSET_CHOICES)
    amount = AmountString()
    state = serializers.ChoiceField(choices=["waiting_for_signature", "on_chain", "confirmed", "failed",
                                             "not_signed"])
    requested_at = Timestamp()
    confirmed_at = Timestamp(allow_null=True)
    seconds = serializers.IntegerField(allow_null=True)


class LiquiditySerializer(serializers.Serializer):
    object = serializers.ChoiceField(choices=["liquidity"])
    custodial_unlimited = serializers.BooleanField(
        help_text="the merchant has a custodial address: payments to it are credited at once, any amount")
    assets = InstantAssetSerializer(many=True)
    addresses = AddressLiquiditySerializer(many=True)
    time_to_collateral = TimeToCollateralSerializer()
    recent_top_ups = TopUpSerializer(many=True)


class LiquidityView(MerchantAPIView):
    """What the merchant can receive instantly now, per asset, and the hub's recent top-ups of
    its channels."""

    resource = "balance"

    @extend_schema(operation_id="liquidity_retrieve", responses=LiquiditySerializer)
    def get(self, request: Request) -> Response:
        from payments.balances.liquidity import merchant_liquidity

        return Response(LiquiditySerializer({"object": "liquidity", **merchant_liquidity(self.merchant_id)}).data)
