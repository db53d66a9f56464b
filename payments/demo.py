"""Demo data for `./spoke up` (development only): a merchant team with an owner who can sign in
to the dashboard, a receiving address and a secret API key, recorded in the git-ignored
credentials file so a second run reuses them."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction


@transaction.atomic
def seed_demo_merchant(creds: dict[str, Any]) -> dict[str, Any]:
    from eth_account import Account

    from payments.apikeys.services import api_key_create
    from payments.merchants.models import Membership, Merchant
    from payments.merchants.services import merchant_create

    demo = creds.get("merchant") or {
        "username": "shop-owner",
        "password": secrets.token_urlsafe(12),
        "name": "Demo Coffee Shop",
        "address": Account.create().address.lower(),
    }
    users = get_user_model()
    owner, created = users.objects.get_or_create(username=demo["username"],
                                                 defaults={"email": "owner@shop.localhost"})
    if created or not owner.check_password(demo["password"]):
        owner.set_password(demo["password"])
        owner.save()
    merchant = Merchant.objects.filter(name=demo["name"]).first()
    if merchant is None:
        merchant = merchant_create(name=demo["name"], owner=owner, addresses=[demo["address"]])
    if not Membership.objects.filter(merchant=merchant, user=owner).exists():
        Membership.objects.create(merchant=merchant, user=owner, role="owner")
    if "api_key" not in demo:
        demo["api_key"] = api_key_create(merchant_id=merchant.pk, kind="secret",
                                         name="demo backend").plaintext
    return {"merchant": demo}
