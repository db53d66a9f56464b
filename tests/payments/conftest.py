"""Merchants, API keys and an API client for the merchant platform tests."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from eth_account import Account

from hub.ledger.services import post
from payments.apikeys.services import api_key_create
from payments.merchants.models import Merchant
from payments.merchants.services import merchant_create


@dataclass
class Shop:
    merchant: Merchant
    address: str
    key: str  # a secret key's plaintext

    def client(self, key: str | None = None) -> Api:
        return Api(key if key is not None else self.key)


class Api:
    """The Django test client with a bearer key and JSON bodies."""

    def __init__(self, key: str | None) -> None:
        self.key = key
        self.client = Client()

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.key}"} if self.key else {}
        headers.update(extra or {})
        return headers

    def get(self, path: str, params: dict[str, Any] | None = None, **headers: str) -> Any:
        return self.client.get(path, params or {}, headers=self._headers(headers))

    def post(self, path: str, body: Any = None, *, idempotency_key: str | None = None,
             raw: bytes | None = None, **headers: str) -> Any:
        extra = dict(headers)
        if idempotency_key is not None:
            extra["Idempotency-Key"] = idempotency_key
        data = raw if raw is not None else json.dumps(body if body is not None else {})
        return self.client.post(path, data, content_type="application/json", headers=self._headers(extra))

    def delete(self, path: str) -> Any:
        return self.client.delete(path, headers=self._headers(None))


def random_address() -> str:
    return Account.create().address.lower()


def credit_custodial(address: str, asset: str, amount: int) -> None:
    """Put `amount` into `custodial:<address>` against a test funding account."""
    with transaction.atomic():
        post([(f"custodial:{address.lower()}", asset, amount), ("test:funding", asset, -amount)],
             memo="test credit")


@pytest.fixture
def make_shop(db: Any) -> Callable[..., Shop]:
    def make(name: str = "shop", *, payout_address: str = "") -> Shop:
        address = random_address()
        merchant = merchant_create(name=name, addresses=[address], payout_address=payout_address)
        issued = api_key_create(merchant_id=merchant.pk, kind="secret", name="test")
        return Shop(merchant, address, issued.plaintext)

    return make


@pytest.fixture
def shop(make_shop: Callable[..., Shop]) -> Shop:
    return make_shop("Alice's shop")


@pytest.fixture
def other_shop(make_shop: Callable[..., Shop]) -> Shop:
    return make_shop("Mallory's shop")
