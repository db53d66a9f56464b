"""The error contract: every code of payments/errors.py (the list the OpenAPI document and the
docs publish) is triggered, each through the API where a client can meet it, and answers with
its documented status in the one error shape."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from ops import jsonbody
from payments import conf
from payments.apikeys.services import api_key_create, api_key_revoke
from payments.errors import CODES, PaymentsError
from payments.merchants.services import merchant_create
from tests.payments.conftest import Api, Shop, random_address

SHAPE = {"type", "code", "message", "param", "request_id"}


class Ctx:
    def __init__(self, shop: Shop, make_shop: Callable[..., Shop], monkeypatch: pytest.MonkeyPatch) -> None:
        self.shop, self.make_shop, self.monkeypatch = shop, make_shop, monkeypatch
        self.api = shop.client()


def _payment(shop: Shop, wei: int = 1000) -> Any:
    from tests.dashboard.helpers import make_payment

    return make_payment(shop.address, wei=wei)


def _service(code: str, call: Callable[[], Any]) -> tuple[int, str]:
    with pytest.raises(PaymentsError) as caught, transaction.atomic():
        call()
    return caught.value.status, caught.value.code


def t_parameter_invalid(c: Ctx) -> Any:
    return c.api.post("/api/v1/invoices", {"amount": "ten", "asset": "wei"})


def t_parameter_missing(c: Ctx) -> Any:
    return c.api.post("/api/v1/invoices", {"asset": "wei"})


def t_permission_unknown(c: Ctx) -> Any:
    return c.api.post("/api/v1/api_keys", {"kind": "restricted", "permissions": {"spaceships": "read"}})


def t_parse_error(c: Ctx) -> Any:
    return c.api.post("/api/v1/invoices", raw=b'{"amount": ')


def t_metadata_invalid(c: Ctx) -> Any:
    return c.api.post("/api/v1/invoices", {"amount": "1", "asset": "wei",
                                           "metadata": {f"k{i}": "v" for i in range(51)}})


def t_amount_invalid(c: Ctx) -> Any:
    from payments.invoices.services import invoice_create

    # the API's serializers refuse such amounts first (parameter_invalid); the services check too
    return _service("amount_invalid", lambda: invoice_create(merchant_id=c.shop.merchant.pk, amount=0,
                                                             asset="wei"))


def t_address_invalid(c: Ctx) -> Any:
    return c.api.post("/api/v1/payout_settings", {"payout_address": "0x1234"})


def t_url_not_public(c: Ctx) -> Any:
    return c.api.post("/api/v1/webhook_endpoints", {"url": "http://127.0.0.1:8000/x", "enabled_events": ["*"]})


def t_cursor_invalid(c: Ctx) -> Any:
    return c.api.get("/api/v1/invoices", {"starting_after": "inv_nosuchinvoice"})


def t_idempotency_key_invalid(c: Ctx) -> Any:
    return c.api.post("/api/v1/invoices", {"amount": "1", "asset": "wei"}, idempotency_key="caf\u00e9")


def t_body_too_large(c: Ctx) -> Any:
    return c.api.post("/api/v1/invoices", raw=b'{"a": "' + b"x" * jsonbody.max_body_bytes() + b'"}')


def t_authentication_required(c: Ctx) -> Any:
    return Api(None).get("/api/v1/invoices")


def t_api_key_invalid(c: Ctx) -> Any:
    return Api("sk_live_not_a_key").get("/api/v1/invoices")


def t_permission_denied(c: Ctx) -> Any:
    read_only = api_key_create(merchant_id=c.shop.merchant.pk, kind="read_only").plaintext
    return Api(read_only).post("/api/v1/invoices", {"amount": "1", "asset": "wei"})


def t_resource_missing(c: Ctx) -> Any:
    return c.api.get("/api/v1/invoices/inv_nosuchinvoice")


def t_method_not_allowed(c: Ctx) -> Any:
    return c.api.client.put("/api/v1/invoices", "{}", content_type="application/json",
                            headers={"Authorization": f"Bearer {c.shop.key}"})


def t_balance_insufficient(c: Ctx) -> Any:
    shop = c.make_shop("payout shop", payout_address=random_address())
    return shop.client().post("/api/v1/settlements", {"asset": "wei", "amount": "5"})


def t_asset_not_configured(c: Ctx) -> Any:
    from django.conf import settings

    c.monkeypatch.setattr(settings, "TOKEN_ADDRESS", "")
    shop = c.make_shop("payout shop", payout_address=random_address())
    return shop.client().post("/api/v1/settlements", {"asset": "token"})


def t_payout_address_missing(c: Ctx) -> Any:
    return c.api.post("/api/v1/settlements", {"asset": "wei"})


def t_receiving_address_missing(c: Ctx) -> Any:
    merchant = merchant_create(name="no address", addresses=[])
    key = api_key_create(merchant_id=merchant.pk, kind="secret").plaintext
    return Api(key).post("/api/v1/invoices", {"amount": "1", "asset": "wei"})


def t_invoice_not_payable(c: Ctx) -> Any:
    from datetime import timedelta

    from payments.invoices.services import invoice_apply_payment

    invoice = c.api.post("/api/v1/invoices", {"amount": "1", "asset": "wei"}).json()
    late = timezone.now() + timedelta(days=400)
    return _service("invoice_not_payable", lambda: invoice_apply_payment(
        invoice_id=invoice["id"], merchant_id=c.shop.merchant.pk, payment_id=_payment(c.shop).pk,
        amount=1, asset="wei", paid_at=late))


def t_invoice_asset_mismatch(c: Ctx) -> Any:
    from payments.invoices.services import invoice_apply_payment

    invoice = c.api.post("/api/v1/invoices", {"amount": "1", "asset": "wei"}).json()
    return _service("invoice_asset_mismatch", lambda: invoice_apply_payment(
        invoice_id=invoice["id"], merchant_id=c.shop.merchant.pk, payment_id=_payment(c.shop).pk,
        amount=1, asset="token", paid_at=timezone.now()))


def t_invoice_no_excess(c: Ctx) -> Any:
    invoice = c.api.post("/api/v1/invoices", {"amount": "1", "asset": "wei"}).json()
    return c.api.post(f"/api/v1/invoices/{invoice['id']}/refund_excess")


def t_invoice_not_voidable(c: Ctx) -> Any:
    from payments.invoices.services import invoice_apply_payment, invoice_void

    invoice = c.api.post("/api/v1/invoices", {"amount": "2", "asset": "wei"}).json()
    with transaction.atomic():  # partly paid: it has received something, so it cannot be voided
        invoice_apply_payment(invoice_id=invoice["id"], merchant_id=c.shop.merchant.pk,
                              payment_id=_payment(c.shop).pk, amount=1, asset="wei", paid_at=timezone.now())
    return _service("invoice_not_voidable", lambda: invoice_void(merchant_id=c.shop.merchant.pk,
                                                                 invoice_id=invoice["id"]))


def _intent(c: Ctx) -> tuple[int, str]:
    from payments.invoices.models import Invoice
    from payments.invoices.services import invoice_checkout_intent

    invoice = c.api.post("/api/v1/invoices", {"amount": "1", "asset": "wei"}).json()
    return _service("checkout", lambda: invoice_checkout_intent(
        Invoice.objects.get(public_id=invoice["id"]), payer="0x" + "22" * 20))


def t_checkout_unavailable(c: Ctx) -> Any:
    from django.conf import settings

    c.monkeypatch.setattr(settings, "CHECKOUT_ADDRESS", "")  # no Checkout contract deployed
    return _intent(c)


def t_payments_disabled(c: Ctx) -> Any:
    from ops.models import _SWITCH_CACHE, GlobalSwitches

    switches = GlobalSwitches.current()
    switches.payments_enabled = False
    switches.save()
    _SWITCH_CACHE.clear()
    try:
        return _intent(c)
    finally:
        _SWITCH_CACHE.clear()


def t_url_unresolvable(c: Ctx) -> Any:
    return c.api.post("/api/v1/webhook_endpoints",
                      {"url": "https://hooks.example.invalid/h", "enabled_events": ["*"]})


def t_rate_unavailable(c: Ctx) -> Any:
    c.monkeypatch.setitem(conf.FIAT_PER_USD, "EUR", "")
    return c.api.post("/api/v1/invoices", {"currency": "EUR", "price": "10", "asset": "token"})


def t_refund_exceeds_payment(c: Ctx) -> Any:
    payment = _payment(c.shop, wei=1000)
    return c.api.post("/api/v1/refunds", {"payment": payment.public_id, "amount": "1001"})


def t_refund_not_pending(c: Ctx) -> Any:
    from payments.refunds.services import refund_create, refund_mark_failed, refund_mark_succeeded

    payment = _payment(c.shop, wei=1000)
    refund = refund_create(merchant_id=c.shop.merchant.pk, payment_id=payment.pk, amount=10)
    with transaction.atomic():
        refund_mark_succeeded(refund_id=refund.public_id)
    return _service("refund_not_pending", lambda: refund_mark_failed(refund_id=refund.public_id, reason="x"))


def t_delivery_not_redeliverable(c: Ctx) -> Any:
    from payments.events.services import event_record
    from payments.webhooks.models import WebhookDelivery

    endpoint = c.api.post("/api/v1/webhook_endpoints",
                          {"url": "https://example.com/h", "enabled_events": ["*"]}).json()
    with transaction.atomic():
        event_record(type="invoice.paid", merchant_id=c.shop.merchant.pk, data={"object": {}})
    c.api.post(f"/api/v1/webhook_endpoints/{endpoint['id']}", {"enabled": False})
    delivery = WebhookDelivery.objects.get(endpoint__public_id=endpoint["id"])
    return c.api.post(f"/api/v1/webhook_deliveries/{delivery.public_id}/redeliver")


def t_api_key_not_rollable(c: Ctx) -> Any:
    issued = api_key_create(merchant_id=c.shop.merchant.pk, kind="secret")
    api_key_revoke(merchant_id=c.shop.merchant.pk, key_id=issued.api_key.public_id)
    return c.api.post(f"/api/v1/api_keys/{issued.api_key.public_id}/roll")


def t_idempotency_conflict(c: Ctx) -> Any:
    c.api.post("/api/v1/invoices", {"amount": "1", "asset": "wei"}, idempotency_key="k-1")
    return c.api.post("/api/v1/invoices", {"amount": "2", "asset": "wei"}, idempotency_key="k-1")


def t_idempotency_in_progress(c: Ctx) -> Any:
    from payments.idempotency.models import IdempotencyRecord
    from payments.idempotency.services import request_fingerprint

    key = api_key_create(merchant_id=c.shop.merchant.pk, kind="secret")
    body = json.dumps({"amount": "1", "asset": "wei"})
    # a request with this key is running (its record is locked now, not stale)
    IdempotencyRecord.objects.create(api_key_id=key.api_key.pk, key="k-busy", locked_at=timezone.now(),
                                     request_fingerprint=request_fingerprint("POST", "/api/v1/invoices",
                                                                             body.encode()))
    c.monkeypatch.setattr(conf, "IDEMPOTENCY_WAIT_SECONDS", 0.0)
    return Api(key.plaintext).post("/api/v1/invoices", raw=body.encode(), idempotency_key="k-busy")


def t_rate_limited(c: Ctx) -> Any:
    c.monkeypatch.setattr(conf, "API_RATE_PER_SECOND", 0.001)
    c.monkeypatch.setattr(conf, "API_RATE_BURST", 1)
    key = api_key_create(merchant_id=c.shop.merchant.pk, kind="secret").plaintext
    Api(key).get("/api/v1/balance")
    return Api(key).get("/api/v1/balance")


def t_api_error(c: Ctx) -> Any:
    from payments.balances.api import BalanceView

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    c.monkeypatch.setattr(BalanceView, "get", broken)
    return c.api.get("/api/v1/balance")


# Refusals of the merchant platform's services that reach a client through the hub's purchase
# API (an invoice payment is refused with them) or a worker, not through /api/v1/: triggered by
# calling the service.
# The checkout's intent route (`/pay/<id>/intent.json`, the shopper's page) and the dashboard's
# void answer with these codes in the pages' own shape, so they are triggered at the service too.
THROUGH_SERVICES = {"invoice_not_payable", "invoice_asset_mismatch", "refund_not_pending", "amount_invalid",
                    "invoice_not_voidable", "checkout_unavailable", "payments_disabled"}


def test_every_code_has_a_trigger() -> None:
    assert {name.removeprefix("t_") for name in globals() if name.startswith("t_")} == set(CODES)


@pytest.mark.parametrize("code", sorted(CODES))
def test_each_documented_code_is_triggered(code: str, shop: Shop, make_shop: Callable[..., Shop],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    result = globals()[f"t_{code}"](Ctx(shop, make_shop, monkeypatch))
    if code in THROUGH_SERVICES:
        assert result == (CODES[code].status, code)
        return
    assert result.status_code == CODES[code].status, result.content
    error = result.json()["error"]
    assert set(error) == SHAPE
    assert (error["code"], error["type"]) == (code, CODES[code].type)
    assert error["request_id"] == result["Request-Id"] and error["message"]
