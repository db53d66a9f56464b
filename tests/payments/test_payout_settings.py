"""Payout configuration through the API: a key that may write settlements sets the payout
address and the automatic rules; every change is audited and announced by an event; the same
constraints as the dashboard."""

from __future__ import annotations

from typing import Any

from django.core import mail
from eth_utils import to_checksum_address

from payments.apikeys.services import api_key_create
from payments.audit.models import AuditLog
from payments.events.models import Event
from payments.merchants.models import Merchant
from tests.payments.conftest import Api, Shop, random_address

URL = "/api/v1/payout_settings"


def test_a_settlement_needs_a_payout_address_which_the_api_now_sets(shop: Shop) -> None:
    api = shop.client()
    assert api.post("/api/v1/settlements", {"asset": "wei"}).json()["error"]["code"] == "payout_address_missing"
    assert api.get(URL).json() == {"object": "payout_settings", "payout_address": None, "threshold_wei": None,
                                   "threshold_token": None, "schedule": "none"}
    address = random_address()
    response = api.post(URL, {"payout_address": to_checksum_address(address), "threshold_wei": "5000",
                              "schedule": "daily"}, idempotency_key="payout-1")
    assert response.status_code == 200, response.content
    assert response.json() == {"object": "payout_settings", "payout_address": address, "threshold_wei": "5000",
                               "threshold_token": None, "schedule": "daily"}
    # now the settlement is refused for want of money, not of an address
    assert api.post("/api/v1/settlements", {"asset": "wei"}).json()["error"]["code"] == "balance_insufficient"
    # a partial update keeps the rest; null removes a threshold
    body = api.post(URL, {"threshold_wei": None, "threshold_token": "7"}).json()
    assert (body["payout_address"], body["threshold_wei"], body["threshold_token"], body["schedule"]) == (
        address, None, "7", "daily")


def test_every_change_is_audited_with_the_key_and_announced(shop: Shop, django_capture_on_commit_callbacks: Any) -> None:
    from django.contrib.auth import get_user_model

    from payments.merchants.services import membership_set

    owner = get_user_model().objects.create_user("payout-owner", email="owner@shop.example", password="x" * 20)
    membership_set(merchant_id=shop.merchant.pk, user=owner, role="owner")
    key = api_key_create(merchant_id=shop.merchant.pk, kind="restricted",
                         permissions={"settlements": "write", "events": "read"})
    api = Api(key.plaintext)
    address = random_address()
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(URL, {"payout_address": address}, idempotency_key="pa-1")
    assert response.status_code == 200
    rows = AuditLog.objects.filter(merchant_id=shop.merchant.pk, surface="api").order_by("id")
    assert [r.action for r in rows] == ["settlement.rule_set", "settlement.payout_address_changed"]
    assert all(r.actor_label == f"api_key:{key.api_key.public_id}" for r in rows)
    assert rows[1].detail == {"before": "", "after": address}
    event = Event.objects.get(merchant=shop.merchant, type="payout_settings.updated")
    payload = event.as_payload()
    assert payload["data"]["object"]["payout_address"] == address
    assert payload["request"] == {"id": response["Request-Id"], "idempotency_key": "pa-1"}
    assert len(mail.outbox) == 1 and address in mail.outbox[0].body
    assert mail.outbox[0].to == ["owner@shop.example"]
    # the same settings again: no change, no event, no audit row; nothing sent is refused
    api.post(URL, {"payout_address": address})
    assert Event.objects.filter(type="payout_settings.updated").count() == 1
    assert AuditLog.objects.filter(surface="api").count() == 2
    assert api.post(URL, {}).json()["error"]["code"] == "parameter_missing"


def test_keys_without_settlement_write_cannot_change_it(shop: Shop) -> None:
    for kind, permissions in (("read_only", None), ("restricted", {"settlements": "read"}),
                              ("restricted", {"invoices": "write"})):
        key = api_key_create(merchant_id=shop.merchant.pk, kind=kind, permissions=permissions).plaintext
        response = Api(key).post(URL, {"payout_address": random_address()})
        assert response.status_code == 403, (kind, permissions)
    assert Merchant.objects.get(pk=shop.merchant.pk).payout_address == ""


def test_the_dashboards_constraints_hold(shop: Shop) -> None:
    api = shop.client()
    bad_checksum = "0x5B38Da6a701c568545dCfcB03FcB875f56beddc4"
    cases = [({"payout_address": "0x1234"}, "address_invalid"),
             ({"payout_address": bad_checksum}, "address_invalid"),
             ({"threshold_wei": "0"}, "parameter_invalid"),
             ({"threshold_wei": "-1"}, "parameter_invalid"),
             ({"schedule": "hourly"}, "parameter_invalid")]
    for body, code in cases:
        response = api.post(URL, body)
        assert response.status_code == 400 and response.json()["error"]["code"] == code, body
    assert not AuditLog.objects.filter(surface="api").exists()
    assert not Event.objects.filter(type="payout_settings.updated").exists()
