"""The link object of the merchant API, webhooks and the dashboard. It never carries the
secret: only the creation response adds it (`LinkCreatedSerializer`), once."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from rest_framework import serializers

from linkpay.models import Link
from payments.serialization import ASSET_CHOICES, AmountString, PositiveAmountString, Timestamp


class LinkSerializer(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    object = serializers.SerializerMethodField()
    amount = AmountString()
    asset = serializers.ChoiceField(choices=ASSET_CHOICES)
    status = serializers.ChoiceField(choices=Link.Status.values)
    note = serializers.CharField()
    funding = serializers.ChoiceField(choices=Link.Funding.values)
    sender = serializers.CharField()
    redeemer = serializers.SerializerMethodField()
    payout = serializers.SerializerMethodField()
    returned_to = serializers.SerializerMethodField()
    page_url = serializers.SerializerMethodField(help_text="the public page, without the secret")
    expires_at = Timestamp()
    claimed_at = Timestamp(allow_null=True)
    completed_at = Timestamp(allow_null=True)
    created = Timestamp(source="created_at")

    def get_object(self, obj: Link) -> str:
        return "link"

    def get_redeemer(self, obj: Link) -> str | None:
        return obj.redeemer or None

    def get_payout(self, obj: Link) -> str | None:
        return obj.payout or None

    def get_returned_to(self, obj: Link) -> str | None:
        return obj.returned_to or None

    def get_page_url(self, obj: Link) -> str:
        return link_path(obj)


class LinkCreatedSerializer(LinkSerializer):
    secret = serializers.CharField(help_text="shown once; Spoke keeps only its hash")
    url = serializers.CharField(help_text="the link to hand over: page URL with the secret in the fragment")
    qr_code = serializers.CharField(help_text="an SVG data URI of `url`")


class LinkCreateSerializer(serializers.Serializer):
    amount = PositiveAmountString()  # the schema says what the service accepts: no "0"
    asset = serializers.ChoiceField(choices=ASSET_CHOICES)
    expires_in = serializers.IntegerField(min_value=60, max_value=365 * 24 * 3600, required=False,
                                          help_text="seconds until the link returns to you "
                                                    "(default 30 days)")
    note = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)


def link_path(link: Link) -> str:
    return reverse("linkpay:page", args=[link.public_id])


def link_data(link: Link) -> dict[str, Any]:
    return dict(LinkSerializer(link).data)
