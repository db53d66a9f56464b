"""The public page's server side: what it shows, the claim endpoint's refusals and guess limit."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils.html import escape

from linkpay.models import Link
from tests.linkpay.secret_scan import register
from tests.payments.conftest import Shop, credit_custodial

pytestmark = pytest.mark.django_db


@pytest.fixture
def link(shop: Shop) -> tuple[Link, str]:
    credit_custodial(shop.address, "token", 10**18)
    data = shop.client().post("/api/v1/links", {"amount": str(10**18 // 4), "asset": "token",
                                                "note": "<b>for you</b>"}).json()
    return Link.objects.get(public_id=data["id"]), register(data["secret"])


def test_the_page_shows_amount_note_and_status_and_never_the_secret(link: tuple[Link, str]) -> None:
    row, secret = link
    response = Client().get(f"/l/{row.public_id}")
    html = response.content.decode()
    assert response.status_code == 200
    assert "0.25 SPD" in html and "&lt;b&gt;for you&lt;/b&gt;" in html and "<b>for you" not in html
    assert 'data-status="open"' in html
    assert secret[2:] not in html.lower() and row.secret_hash not in html
    assert response["Referrer-Policy"] == "no-referrer" and "no-store" in response["Cache-Control"]
    assert "default-src 'none'" in response["Content-Security-Policy"]
    status = Client().get(f"/l/{row.public_id}/status").json()
    assert (status["status"], status["amount"], status["asset"]) == ("open", str(10**18 // 4), "token")


def test_an_unknown_link_is_a_404() -> None:
    assert Client().get("/l/lnk_" + "0" * 24).status_code == 404


def test_wrong_secrets_on_the_claim_endpoint_hit_the_ip_limit(link: tuple[Link, str]) -> None:
    row, secret = link
    client = Client()
    codes = [client.post(f"/l/{row.public_id}/claim", {"secret": "0x" + "ab" * 32, "address": "0x" + "11" * 20},
                         content_type="application/json").status_code for _ in range(12)]
    assert codes == [404] * 10 + [429] * 2
    limited = client.post(f"/l/{row.public_id}/claim", {"secret": secret, "address": "0x" + "11" * 20},
                          content_type="application/json")
    assert limited.status_code == 429 and int(limited["Retry-After"]) >= 1
    assert Link.objects.get(pk=row.pk).status == "open"


def test_a_bad_address_is_refused_without_claiming(link: tuple[Link, str]) -> None:
    row, secret = link
    response = Client().post(f"/l/{row.public_id}/claim", {"secret": secret, "address": "nope"},
                             content_type="application/json")
    assert response.status_code == 400 and secret not in response.content.decode()
    assert Link.objects.get(pk=row.pk).status == "open"


def test_the_qr_endpoint_encodes_the_full_link(link: tuple[Link, str]) -> None:
    row, secret = link
    response = Client().post(f"/l/{row.public_id}/qr", {"secret": secret}, content_type="application/json")
    assert response.status_code == 200 and response["Content-Type"] == "image/svg+xml"
    assert response.content.startswith(b"<?xml") and b"<svg" in response.content


@pytest.mark.parametrize("burn", ["0x" + "0" * 40, "0x000000000000000000000000000000000000dEaD",
                                  "0x000000000000000000000000000000000000dead"])
def test_a_burn_address_is_refused_with_the_reason_and_the_link_stays_open(link: tuple[Link, str], burn: str) -> None:
    row, secret = link
    response = Client().post(f"/l/{row.public_id}/claim", {"secret": secret, "address": burn},
                             content_type="application/json")
    assert response.status_code == 400
    assert "belongs to nobody" in response.json()["message"]
    assert Link.objects.get(pk=row.pk).status == "open"


def test_the_page_names_the_merchant_that_sent_it_and_when_it_expires_in_words(
        link: tuple[Link, str], shop: Shop) -> None:
    row, _ = link
    html = Client().get(f"/l/{row.public_id}").content.decode()
    assert html.count("<h1>") == 1
    assert f'<span id="sender">{escape(row.merchant.name)}</span> sent you' in html  # type: ignore[union-attr]
    assert "Claim it within <strong id=\"expires-in\">" in html and " UTC</time>" in html
    status = Client().get(f"/l/{row.public_id}/status").json()
    assert status["sender"] == row.merchant.name and status["destination"] == "" and status["txHash"] == ""  # type: ignore[union-attr]
