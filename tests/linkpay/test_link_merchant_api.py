"""`/api/v1/links`: a merchant funds links from its custodial balance, lists, retrieves and
cancels them; the secret appears once, in the creation response, and nowhere else."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from hub.ledger.services import account_balance
from linkpay.models import Link
from linkpay.selectors import link_held_total, link_open_total
from linkpay.services import link_cancel, link_create_custodial, link_expire, links_expire_due
from payments.errors import CODES, PaymentsError
from payments.events.models import Event
from payments.idempotency.models import IdempotencyRecord
from tests.linkpay.secret_scan import register
from tests.payments.conftest import Shop, credit_custodial

pytestmark = pytest.mark.django_db


def create(shop: Shop, **body: object) -> dict:
    response = shop.client().post("/api/v1/links", {"amount": "1000", "asset": "token", **body})
    assert response.status_code == 201, response.content
    data = response.json()
    register(data["secret"])
    return data


def test_a_created_link_carries_its_secret_url_and_qr_code_once(shop: Shop) -> None:
    credit_custodial(shop.address, "token", 5000)
    data = create(shop, note="thanks for the tip", expires_in=3600)
    link = Link.objects.get(public_id=data["id"])
    secret = data["secret"]
    assert secret.startswith("0x") and len(secret) == 66  # 256 bits, the Connext client's shape
    assert data["url"] == f"http://testserver/l/{link.public_id}#{secret}"
    assert data["qr_code"].startswith("data:image/svg+xml;base64,")
    assert b"<svg" in base64.b64decode(data["qr_code"].split(",", 1)[1])
    assert link.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert (data["amount"], data["asset"], data["status"], data["note"]) == (
        "1000", "token", "open", "thanks for the tip")
    assert data["expires_at"] - data["created"] in (3599, 3600, 3601)
    again = shop.client().get(f"/api/v1/links/{link.public_id}").json()
    assert "secret" not in again and "url" not in again and again["page_url"] == f"/l/{link.public_id}"


def test_the_amount_moves_from_the_custodial_balance_into_the_link_hold(shop: Shop) -> None:
    credit_custodial(shop.address, "token", 5000)
    data = create(shop, amount="1200")
    assert account_balance(f"custodial:{shop.address}", "token") == 3800
    assert account_balance(f"link:{data['id']}", "token") == 1200
    assert link_held_total("token") == link_open_total("token") == 1200


def test_a_link_above_the_custodial_balance_is_refused(shop: Shop) -> None:
    credit_custodial(shop.address, "wei", 10)
    response = shop.client().post("/api/v1/links", {"amount": "11", "asset": "wei"})
    assert response.status_code == CODES["balance_insufficient"].status
    assert response.json()["error"]["code"] == "balance_insufficient"
    assert not Link.objects.exists()


def test_default_expiry_is_thirty_days(shop: Shop) -> None:
    credit_custodial(shop.address, "wei", 10)
    data = create(shop, amount="10", asset="wei")
    assert data["expires_at"] - data["created"] in range(30 * 86400 - 1, 30 * 86400 + 2)


def test_an_idempotent_replay_does_not_repeat_the_secret_and_none_is_stored(shop: Shop) -> None:
    credit_custodial(shop.address, "token", 5000)
    first = shop.client().post("/api/v1/links", {"amount": "100", "asset": "token"}, idempotency_key="k1")
    assert first.status_code == 201
    secret = register(first.json()["secret"])
    replay = shop.client().post("/api/v1/links", {"amount": "100", "asset": "token"}, idempotency_key="k1")
    assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
    assert replay.json()["id"] == first.json()["id"]
    assert replay.json()["secret"] is None and replay.json()["url"] is None
    assert Link.objects.count() == 1
    stored = bytes(IdempotencyRecord.objects.get().response_body)
    assert first.json()["id"].encode() in stored and secret.encode() not in stored


def test_links_are_listed_newest_first_and_only_the_merchants_own(shop: Shop, other_shop: Shop) -> None:
    credit_custodial(shop.address, "token", 5000)
    credit_custodial(other_shop.address, "token", 5000)
    ids = [create(shop, amount=str(n))["id"] for n in (1, 2, 3)]
    create(other_shop)
    page = shop.client().get("/api/v1/links", {"limit": 2}).json()
    assert [d["id"] for d in page["data"]] == ids[::-1][:2] and page["has_more"] is True
    assert all("secret" not in d for d in page["data"])
    assert shop.client().get(f"/api/v1/links/{ids[0]}").status_code == 200
    foreign = other_shop.client().get(f"/api/v1/links/{ids[0]}")
    assert foreign.status_code == 404 and foreign.json()["error"]["code"] == "resource_missing"


def test_cancel_returns_the_amount_to_the_custodial_balance_exactly_once(shop: Shop) -> None:
    credit_custodial(shop.address, "token", 5000)
    data = create(shop, amount="700")
    cancelled = shop.client().post(f"/api/v1/links/{data['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["returned_to"] == "custodial"
    again = shop.client().post(f"/api/v1/links/{data['id']}/cancel")
    assert again.status_code == 400
    assert again.json()["error"]["code"] == "link_cancelled"
    assert account_balance(f"custodial:{shop.address}", "token") == 5000
    assert account_balance(f"link:{data['id']}", "token") == 0
    types = list(Event.objects.filter(merchant=shop.merchant).order_by("id").values_list("type", flat=True))
    assert types == ["link.created", "link.cancelled"]


def test_events_carry_the_link_but_never_its_secret(shop: Shop) -> None:
    credit_custodial(shop.address, "token", 5000)
    data = create(shop)
    event = Event.objects.get(type="link.created")
    assert event.data["object"]["id"] == data["id"]
    assert data["secret"] not in str(event.data) and data["secret"][2:] not in str(event.data)


def test_a_read_only_key_cannot_create_links(shop: Shop) -> None:
    from payments.apikeys.services import api_key_create

    issued = api_key_create(merchant_id=shop.merchant.pk, kind="read_only")
    response = shop.client(issued.plaintext).post("/api/v1/links", {"amount": "1", "asset": "wei"})
    assert response.status_code == 403
    assert shop.client(issued.plaintext).get("/api/v1/links").status_code == 200


def custodial_link(shop: Shop, amount: int, **kwargs: Any) -> Link:
    issued = link_create_custodial(merchant_id=shop.merchant.pk, amount=amount, asset="wei", **kwargs)
    register(issued.secret)
    return issued.link


def test_the_service_refuses_a_bad_asset_or_amount_with_its_code_and_moves_nothing(shop: Shop) -> None:
    """What the API's serializer checks first, the service checks again for its other callers
    (refund links): the code and the parameter, nothing created, nothing debited."""
    credit_custodial(shop.address, "wei", 100)
    for asset in ("eth", "", None):
        with pytest.raises(PaymentsError) as refused:
            link_create_custodial(merchant_id=shop.merchant.pk, amount=10, asset=asset)  # type: ignore[arg-type]
        assert (refused.value.code, refused.value.param) == ("parameter_invalid", "asset")
    for amount in (0, -1, True, "5", 1.0):
        with pytest.raises(PaymentsError) as refused:
            link_create_custodial(merchant_id=shop.merchant.pk, amount=amount, asset="wei")  # type: ignore[arg-type]
        assert (refused.value.code, refused.value.param) == ("amount_invalid", "amount")
    assert not Link.objects.exists()
    assert account_balance(f"custodial:{shop.address}", "wei") == 100
    link = custodial_link(shop, 1)  # the smallest amount; no note given
    assert (link.amount, link.note, link.status) == (1, "", Link.Status.OPEN)


def test_expiry_goes_by_the_time_given_and_returns_only_the_links_due(shop: Shop) -> None:
    credit_custodial(shop.address, "wei", 100)
    first, second = custodial_link(shop, 10, expires_in=3600), custodial_link(shop, 20, expires_in=3600)
    later = custodial_link(shop, 30, expires_in=7200)
    at = timezone.now() + timedelta(seconds=5400)  # the first two are due then, none is due now
    assert link_expire(link_id=later.pk, now=at) is False
    assert link_expire(link_id=first.pk, now=at) is True  # that link, not another one due
    statuses = dict(Link.objects.values_list("pk", "status"))
    assert [statuses[k.pk] for k in (first, second, later)] == ["expired", "open", "open"]
    assert links_expire_due(now=at) == 1  # the second
    assert Link.objects.get(pk=second.pk).status == Link.Status.EXPIRED
    assert Link.objects.get(pk=later.pk).status == Link.Status.OPEN
    assert account_balance(f"custodial:{shop.address}", "wei") == 70


def test_the_expiry_sweep_counts_only_open_links_against_its_limit(shop: Shop) -> None:
    credit_custodial(shop.address, "wei", 100)
    cancelled, due = custodial_link(shop, 10, expires_in=3600), custodial_link(shop, 20, expires_in=7200)
    link_cancel(link_public_id=cancelled.public_id, merchant_id=shop.merchant.pk)
    at = timezone.now() + timedelta(hours=3)  # both past their expiry then; the cancelled one first
    assert links_expire_due(now=at, limit=1) == 1
    assert Link.objects.get(pk=due.pk).status == Link.Status.EXPIRED
    assert account_balance(f"custodial:{shop.address}", "wei") == 100
