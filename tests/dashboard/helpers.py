"""Merchants, team members and signed payments for the dashboard tests (no chain needed: the
payment rows carry real hashes and real signatures of throwaway keys)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyotp
from django.contrib.auth import get_user_model
from django.db import transaction
from django.test import Client
from eth_account import Account

from hub.channels.models import Channel, ChannelUpdate
from hub.core.signing import Signer
from hub.core.state import ZERO_ROOT, ChannelState
from hub.ledger.services import post
from hub.purchases.models import Payment, Purchase
from payments.dashboard.models import TotpDevice
from payments.merchants.models import Merchant
from payments.merchants.services import membership_set, merchant_create

PASSWORD = "correct horse battery staple 9"
CONTRACT = "0x" + "cc" * 20
HUB_KEY = secrets.token_bytes(32)
HUB_SIGNER = Signer(HUB_KEY)  # the hub key the dashboard tests configure (conftest)


@dataclass
class Team:
    merchant: Merchant
    address: str
    owner: Any
    users: dict[str, Any]


def random_address() -> str:
    return Account.create().address.lower()


def make_user(username: str, *, totp_secret: str | None = None) -> Any:
    user = get_user_model().objects.create_user(username=username, email=f"{username}@example.com",
                                                password=PASSWORD)
    if totp_secret:
        TotpDevice.objects.create(user=user, secret=totp_secret)
    return user


def make_team(name: str, *, payout_address: str = "", roles: tuple[str, ...] = ()) -> Team:
    suffix = secrets.token_hex(3)
    owner = make_user(f"owner-{suffix}")
    address = random_address()
    merchant = merchant_create(name=name, owner=owner, addresses=[address], payout_address=payout_address)
    users = {"owner": owner}
    for role in roles:
        users[role] = make_user(f"{role}-{suffix}")
        membership_set(merchant_id=merchant.pk, user=users[role], role=role)
    return Team(merchant, address, owner, users)


def sign_in(client: Client, user: Any, *, totp_secret: str | None = None) -> Any:
    """Through the real sign-in pages (password, then the code when there is a device)."""
    response = client.post("/dashboard/login/", {"username": user.username, "password": PASSWORD})
    if totp_secret:
        assert response.status_code == 302 and response["Location"].endswith("/dashboard/login/code/"), response
        response = client.post("/dashboard/login/code/", {"code": pyotp.TOTP(totp_secret).now()})
    assert response.status_code == 302 and response["Location"] == "/dashboard/", response
    return response


def make_payment(recipient: str, *, wei: int = 0, token: int = 0, created_at: datetime | None = None,
                 meta: dict[str, Any] | None = None, status: str = Payment.Status.COMPLETED,
                 hub_signer: Signer = HUB_SIGNER) -> Payment:
    """A PT_CUSTODIAL payment carried by a real double-signed state of a fresh payer (countersigned
    by `hub_signer`: the configured hub key unless a test forges it)."""
    payer = Signer(secrets.token_bytes(32))
    with transaction.atomic():
        channel = Channel.objects.create(contract=CONTRACT, user=payer.address.lower())
        state = ChannelState(contract_address=CONTRACT, user=payer.address.lower(), recipient=payer.address.lower(),
                             balance_wei_hub=wei, balance_token_hub=token, tx_count_global=2, tx_count_chain=1,
                             thread_root=ZERO_ROOT)
        state = payer.sign_channel_state(hub_signer.sign_channel_state(state), as_party="user")
        from hub.core.hashing import channel_state_hash

        update = ChannelUpdate.objects.create(
            channel=channel, reason="Payment", originator=payer.address.lower(), recipient=state.recipient,
            balance_wei_hub=wei, balance_token_hub=token, tx_count_global=2, tx_count_chain=1,
            thread_root=ZERO_ROOT, state_hash=channel_state_hash(state), sig_hub=state.sig_hub,
            sig_user=state.sig_user)
        purchase = Purchase.objects.create(id=secrets.token_hex(16), sender=payer.address.lower(), meta={})
        payment = Payment.objects.create(
            purchase=purchase, sender=payer.address.lower(), recipient=recipient, amount_wei=wei,
            amount_token=token, type=Payment.Type.CUSTODIAL, status=status, meta=meta or {},
            payer_update=update)
        if created_at is not None:
            Payment.objects.filter(pk=payment.pk).update(created_at=created_at)
            payment.refresh_from_db()
        post([(f"custodial:{recipient}", "wei" if wei else "token", wei or token),
              ("test:funding", "wei" if wei else "token", -(wei or token))], memo="test payment")
    return payment


def set_rate(rate: str, at: datetime) -> None:
    from hub.rates.models import ExchangeRate

    ExchangeRate.objects.create(rate=rate, source="operator", retrieved_at=at)


def form_token(client: Client, page_path: str) -> str:
    """The once-only token of the forms on a dashboard page, as the browser would submit it."""
    import re

    response = client.get(page_path)
    assert response.status_code == 200, response
    match = re.search(r'name="form_token" value="([^"]+)"', response.content.decode())
    assert match, f"no form token on {page_path}"
    return match.group(1)


def post_form(client: Client, page_path: str, action_path: str, data: dict[str, Any] | None = None,
              **extra: Any) -> Any:
    """Open the page, then submit one of its forms (with its once-only token)."""
    return client.post(action_path, {**(data or {}), "form_token": form_token(client, page_path)}, **extra)
