"""Every dashboard page renders for each role that may open it; tenants never see each other's
objects; amounts carry the fiat value at the rate of their time; receipts verify."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from hub.purchases.models import Payment
from payments.audit.models import AuditLog
from tests.dashboard.helpers import make_payment, make_team, set_rate, sign_in

pytestmark = pytest.mark.django_db
ETH = 10**18

PAGES = ["/dashboard/", "/dashboard/payments/", "/dashboard/invoices/", "/dashboard/invoices/new/",
         "/dashboard/links/", "/dashboard/refunds/", "/dashboard/settlements/", "/dashboard/api-keys/",
         "/dashboard/webhooks/", "/dashboard/team/", "/dashboard/audit/", "/dashboard/export/",
         "/dashboard/security/"]


@pytest.fixture
def shop():  # type: ignore[no-untyped-def]
    team = make_team("Corner shop", roles=("manager", "staff"))
    now = timezone.now()
    set_rate("200", now - timedelta(days=3))
    set_rate("300", now - timedelta(hours=1))
    old = make_payment(team.address, wei=ETH, created_at=now - timedelta(days=2))  # at 200
    new = make_payment(team.address, wei=ETH // 2, created_at=now - timedelta(minutes=5))  # at 300
    token = make_payment(team.address, token=5 * ETH, created_at=now - timedelta(minutes=1))
    team.payments = [old, new, token]  # type: ignore[attr-defined]
    return team


def client_for(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    sign_in(client, user)
    return client


@pytest.mark.parametrize("path", PAGES)
def test_every_page_renders_for_an_owner(shop, path: str) -> None:  # type: ignore[no-untyped-def]
    response = client_for(shop.owner).get(path)
    assert response.status_code == 200
    assert b'<main id="main"' in response.content


def test_staff_cannot_see_api_keys_team_or_audit_and_the_navigation_hides_them(shop) -> None:  # type: ignore[no-untyped-def]
    client = client_for(shop.users["staff"])
    home = client.get("/dashboard/").content.decode()
    assert "API keys" not in home and "Audit log" not in home and ">Payments<" in home
    for path in ("/dashboard/api-keys/", "/dashboard/team/", "/dashboard/audit/", "/dashboard/webhooks/"):
        assert client.get(path).status_code == 403, path
    assert client.post("/dashboard/api-keys/new/", {"kind": "secret"}).status_code == 403
    assert client.get("/dashboard/payments/").status_code == 200


def test_a_manager_sees_keys_but_cannot_create_them(shop) -> None:  # type: ignore[no-untyped-def]
    client = client_for(shop.users["manager"])
    assert client.get("/dashboard/api-keys/").status_code == 200
    assert client.post("/dashboard/api-keys/new/", {"kind": "secret"}).status_code == 403


def test_payments_show_human_units_and_fiat_at_the_rate_of_their_time(shop) -> None:  # type: ignore[no-untyped-def]
    page = client_for(shop.owner).get("/dashboard/payments/").content.decode()
    assert "1 ETH" in page and "$200.00" in page  # two days ago at 200 DAI/ETH
    assert "0.5 ETH" in page and "$150.00" in page  # five minutes ago at 300
    assert "5 SPD" in page and "$5.00" in page


def test_home_shows_the_volume_of_the_last_30_days_by_default(shop) -> None:  # type: ignore[no-untyped-def]
    response = client_for(shop.owner).get("/dashboard/")
    current = response.context["comparison"].current
    assert response.context["period"].days == 30
    assert current.count == 3
    assert str(current.fiat) == "355.00"
    assert current.totals == {"wei": ETH + ETH // 2, "token": 5 * ETH}
    bars = response.context["chart"].bars
    assert sum(1 for b in bars if b.fiat > 0) == len({timezone.localdate(p.created_at) for p in shop.payments})


def test_filters_and_search_narrow_the_payments(shop) -> None:  # type: ignore[no-untyped-def]
    client = client_for(shop.owner)
    old, token = shop.payments[0], shop.payments[2]
    rows = client.get("/dashboard/payments/", {"asset": "token"}).context["listed"].rows
    assert [p.pk for p in rows] == [token.pk]
    rows = client.get("/dashboard/payments/", {"q": old.public_id}).context["listed"].rows
    assert [p.pk for p in rows] == [old.pk]
    day = timezone.localdate(old.created_at).isoformat()
    rows = client.get("/dashboard/payments/", {"start": day, "end": day}).context["listed"].rows
    assert old.pk in [p.pk for p in rows] and token.pk not in [p.pk for p in rows]


def test_the_payment_page_shows_a_verified_receipt_of_the_signed_state(shop) -> None:  # type: ignore[no-untyped-def]
    old = shop.payments[0]
    response = client_for(shop.owner).get(f"/dashboard/payments/{old.public_id}/")
    receipt = response.context["receipts"][0]
    assert receipt.verified
    assert receipt.hub_address is not None and receipt.hub_signer == receipt.hub_address
    assert receipt.user_signer == old.sender
    assert receipt.state_hash == old.payer_update.state_hash
    assert b'data-verified="true"' in response.content
    body = client_for(shop.owner).get(f"/dashboard/payments/{old.public_id}/receipt.json").json()
    assert body["signedStates"][0]["sigUser"] == old.payer_update.sig_user


def test_a_state_whose_fields_differ_from_what_was_signed_fails_verification(shop) -> None:  # type: ignore[no-untyped-def]
    from hub.channels.models import ChannelUpdate
    from payments.dashboard.selectors import signed_state_receipt

    # signed states are immutable in the database, so tamper with a loaded copy
    update = ChannelUpdate.objects.select_related("channel").get(pk=shop.payments[0].payer_update_id)
    update.balance_wei_hub += 1
    receipt = signed_state_receipt(update, "tampered")
    assert not receipt.verified and not receipt.hash_ok


def test_a_receipt_countersigned_by_another_key_than_the_hubs_is_not_verified(shop) -> None:  # type: ignore[no-untyped-def]
    import secrets

    from hub.core.signing import Signer

    impostor = Signer(secrets.token_bytes(32))
    forged = make_payment(shop.address, wei=ETH, hub_signer=impostor)
    response = client_for(shop.owner).get(f"/dashboard/payments/{forged.public_id}/")
    receipt = response.context["receipts"][0]
    assert receipt.hash_ok and receipt.user_signer == forged.sender  # everything else is genuine
    assert receipt.hub_signer == impostor.address.lower() != receipt.hub_address
    assert ("the hub's signature recovers to the hub's address", False) in receipt.checks
    assert not receipt.verified and receipt.verdict == "failed"
    assert b'data-verified="false"' in response.content
    assert b'data-verified="true"' not in response.content


def test_a_receipt_says_it_cannot_verify_the_hub_signature_when_no_hub_key_is_configured(  # type: ignore[no-untyped-def]
        shop, settings) -> None:
    from tests.chain_env import clear_chain_caches

    settings.HUB_PRIVATE_KEY_FILE = None
    clear_chain_caches()
    response = client_for(shop.owner).get(f"/dashboard/payments/{shop.payments[0].public_id}/")
    receipt = response.context["receipts"][0]
    assert receipt.hub_address is None
    assert all(ok for _, ok in receipt.checks)  # the hash and the payer's signature still check
    assert not receipt.verified and receipt.verdict == "unverifiable"
    assert b'data-verified="unknown"' in response.content
    assert "Cannot verify the hub's signature" in response.content.decode()


def test_a_merchant_never_sees_another_merchants_payment(shop) -> None:  # type: ignore[no-untyped-def]
    other = make_team("Other shop")
    client = client_for(other.owner)
    assert client.get(f"/dashboard/payments/{shop.payments[0].public_id}/").status_code == 404
    assert client.get(f"/dashboard/payments/{shop.payments[0].public_id}/receipt.json").status_code == 404
    assert client.get("/dashboard/payments/").context["listed"].rows == []
    # nor pages from one of its payments
    assert client.get("/dashboard/payments/", {"after": shop.payments[0].public_id}).context["listed"].rows == []
    assert client.get("/dashboard/events.json").json()["events"] == []


def test_the_payments_csv_matches_the_database_and_is_audited(shop) -> None:  # type: ignore[no-untyped-def]
    client = client_for(shop.owner)
    start = (timezone.localdate() - timedelta(days=10)).isoformat()
    end = timezone.localdate().isoformat()
    response = client.get("/dashboard/export/", {"kind": "payments", "start": start, "end": end})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    expected = Payment.objects.filter(recipient=shop.address).order_by("created_at", "id")
    assert [r["id"] for r in rows] == [p.public_id for p in expected]
    for row, p in zip(rows, expected, strict=True):
        assert int(row["amount_base_units"]) == int(p.amount_wei or p.amount_token)
        assert row["sender"] == p.sender
    assert [r["fiat_usd"] for r in rows] == ["200.00", "150.00", "5.00"]
    assert AuditLog.objects.filter(action="export.csv", merchant_id=shop.merchant.pk).count() == 1


def test_csv_cells_that_look_like_formulas_are_defused(shop) -> None:  # type: ignore[no-untyped-def]
    from payments.invoices.services import invoice_create

    invoice_create(merchant_id=shop.merchant.pk, amount=ETH, asset="wei", description="=HYPERLINK(\"x\")")
    response = client_for(shop.owner).get("/dashboard/export/", {"kind": "invoices"})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0]["description"].startswith("'=")


def test_payment_ids_are_random_public_ids_everywhere_not_the_sequential_key(shop) -> None:  # type: ignore[no-untyped-def]
    """pay_7, pay_10 revealed the platform's volume to every merchant."""
    import re

    from payments.apikeys.services import api_key_create
    from payments.hub_hooks import payment_event_data
    from tests.payments.conftest import Api

    ids = [p.public_id for p in shop.payments]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"pay_[0-9a-f]{24}", i) for i in ids)
    old = shop.payments[0]
    client = client_for(shop.owner)
    assert client.get(f"/dashboard/payments/{old.public_id}/").status_code == 200
    assert client.get(f"/dashboard/payments/{old.pk}/").status_code == 404
    assert client.get(f"/dashboard/payments/pay_{old.pk}/").status_code == 404
    assert payment_event_data(old)["object"]["id"] == old.public_id
    api = Api(api_key_create(merchant_id=shop.merchant.pk, kind="read_only").plaintext)
    listed = [row["id"] for row in api.get("/api/v1/payments", {"limit": 100}).json()["data"]]
    assert sorted(listed) == sorted(ids)
    assert api.get(f"/api/v1/payments/{old.public_id}").json()["amount_wei"] == str(old.amount_wei)
    assert api.get(f"/api/v1/payments/pay_{old.pk}").status_code == 404
