"""Money and key actions run once per form: post/redirect/get, a once-only token consumed
atomically, and the secret of the result shown on exactly one page view."""

from __future__ import annotations

import pytest
from django.test import Client

from linkpay.models import Link
from payments.apikeys.models import ApiKey
from payments.refunds.models import Refund
from tests.dashboard.helpers import form_token, make_payment, make_team, sign_in

pytestmark = pytest.mark.django_db
ETH = 10**18


def owner_client(team) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    sign_in(client, team.owner)
    return client


def test_resubmitting_the_link_form_creates_no_second_funded_link() -> None:
    team = make_team("Link shop")
    make_payment(team.address, wei=ETH)
    client = owner_client(team)
    data = {"amount": "0.25", "asset": "wei", "expires_in_days": 7,
            "form_token": form_token(client, "/dashboard/links/")}
    first = client.post("/dashboard/links/new/", data)
    assert first.status_code == 302 and first["Location"] == "/dashboard/links/created/"
    shown = client.get("/dashboard/links/created/")
    url = shown.context["url"]
    assert "#" in url
    replay = client.post("/dashboard/links/new/", data)  # the browser's "resend the form?"
    assert replay.status_code == 302 and replay["Location"] == "/dashboard/links/created/"
    assert Link.objects.filter(merchant=team.merchant).count() == 1
    again = client.get("/dashboard/links/created/", follow=True)  # reload: the URL is not shown again
    assert again.redirect_chain == [("/dashboard/links/", 302)]
    assert url.split("#")[1] not in again.content.decode()
    assert "already submitted" in again.content.decode()


def test_reloading_the_page_after_a_key_was_created_shows_no_key_and_creates_none() -> None:
    team = make_team("Key shop")
    client = owner_client(team)
    data = {"kind": "secret", "name": "backend", "form_token": form_token(client, "/dashboard/api-keys/")}
    created = client.post("/dashboard/api-keys/new/", data, follow=True)
    plaintext = created.context["issued"]
    assert plaintext.startswith("sk_")
    assert client.get("/dashboard/api-keys/").context["issued"] is None  # reload of the result page
    client.post("/dashboard/api-keys/new/", data)  # resubmitted POST
    assert ApiKey.objects.filter(merchant=team.merchant).count() == 1


def test_a_post_without_a_form_token_or_with_a_made_up_one_does_nothing() -> None:
    team = make_team("Key shop")
    make_payment(team.address, wei=ETH)
    client = owner_client(team)
    for token in ("", "made-up-token", "x" * 500):
        response = client.post("/dashboard/links/new/", {"amount": "0.1", "asset": "wei", "expires_in_days": 7,
                                                         "form_token": token})
        assert response.status_code == 302 and response["Location"] == "/dashboard/links/"
        assert client.post("/dashboard/api-keys/new/", {"kind": "secret", "form_token": token}).status_code == 302
    assert not Link.objects.exists() and not ApiKey.objects.exists()


def test_a_token_of_another_user_is_refused() -> None:
    team, other = make_team("A"), make_team("B")
    make_payment(team.address, wei=ETH)
    stolen = form_token(owner_client(other), "/dashboard/links/")
    response = owner_client(team).post("/dashboard/links/new/", {"amount": "0.1", "asset": "wei",
                                                                 "expires_in_days": 7, "form_token": stolen})
    assert response["Location"] == "/dashboard/links/" and not Link.objects.exists()


def test_a_refund_form_sent_twice_refunds_once() -> None:
    team = make_team("Refunding shop")
    payment = make_payment(team.address, wei=ETH)
    client = owner_client(team)
    data = {"amount": "0.1", "reason": "duplicate",
            "form_token": form_token(client, f"/dashboard/payments/{payment.public_id}/")}
    first = client.post(f"/dashboard/payments/{payment.public_id}/refund/", data)
    second = client.post(f"/dashboard/payments/{payment.public_id}/refund/", data)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"] == f"/dashboard/payments/{payment.public_id}/"
    assert Refund.objects.filter(payment_id=payment.pk).count() == 1


def test_a_form_rejected_for_bad_input_gets_a_fresh_token_and_can_be_corrected() -> None:
    team = make_team("Typo shop")
    make_payment(team.address, wei=ETH)
    client = owner_client(team)
    bad = client.post("/dashboard/links/new/", {"amount": "lots", "asset": "wei", "expires_in_days": 7,
                                               "form_token": form_token(client, "/dashboard/links/")})
    assert bad.status_code == 400
    import re

    fresh = re.search(r'name="form_token" value="([^"]+)"', bad.content.decode())
    assert fresh is not None
    good = client.post("/dashboard/links/new/", {"amount": "0.5", "asset": "wei", "expires_in_days": 7,
                                                "form_token": fresh.group(1)})
    assert good["Location"] == "/dashboard/links/created/"
    assert Link.objects.get().amount == ETH // 2
