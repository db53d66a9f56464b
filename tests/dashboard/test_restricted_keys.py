"""Restricted keys from the dashboard: per-resource permissions with the API's vocabulary, no
stronger than the member's role, and the key is held to them by the API."""

from __future__ import annotations

import re

import pytest
from django.test import Client, RequestFactory

from payments.apikeys.models import ApiKey
from payments.dashboard import services
from payments.errors import PaymentsError
from payments.merchants.models import Membership
from tests.dashboard.helpers import make_team, post_form, sign_in

pytestmark = pytest.mark.django_db


def test_an_owner_creates_a_restricted_key_that_the_api_holds_to_its_permissions() -> None:
    team = make_team("Key shop")
    client = Client()
    sign_in(client, team.owner)
    response = post_form(client, "/dashboard/api-keys/", "/dashboard/api-keys/new/",
                         {"name": "invoicing", "kind": "restricted", "perm_invoices": "write", "perm_events": "read"})
    assert response.status_code == 302
    key = ApiKey.objects.get(merchant=team.merchant)
    assert key.kind == "restricted" and key.permissions == {"invoices": "write", "events": "read"}
    page = client.get("/dashboard/api-keys/").content.decode()
    secret = re.search(r'id="issued-key" class="mono" type="text" readonly value="(rk_live_[^"]+)"', page).group(1)
    assert "invoices: write" in page

    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert api.get("/api/v1/invoices").status_code == 200
    assert api.get("/api/v1/events").status_code == 200
    assert api.get("/api/v1/payments").status_code == 403
    assert api.get("/api/v1/balance").status_code == 403
    refused = api.post("/api/v1/api_keys", {"kind": "secret"}, content_type="application/json",
                       HTTP_IDEMPOTENCY_KEY="k1")
    assert refused.status_code == 403


@pytest.mark.parametrize("data", [
    {"kind": "restricted"},  # no permission at all
    {"kind": "restricted", "perm_invoices": "admin"},
    {"kind": "restricted", "perm_invoices": "write", "perm_nothing": "write", "perm_payments": "x"},
    {"kind": "root"},
])
def test_a_malformed_key_form_is_refused_and_creates_nothing(data: dict[str, str]) -> None:
    team = make_team("Key shop")
    client = Client()
    sign_in(client, team.owner)
    response = post_form(client, "/dashboard/api-keys/", "/dashboard/api-keys/new/", data)
    assert response.status_code == 400
    assert not ApiKey.objects.filter(merchant=team.merchant).exists()


@pytest.mark.parametrize(("kind", "permissions", "allowed"), [
    ("secret", None, False),  # every resource with write
    ("read_only", None, False),  # staff may not read api keys, webhooks or team
    ("restricted", {"invoices": "write", "payments": "read"}, True),
    ("restricted", {"payments": "write"}, False),
    ("restricted", {"refunds": "write"}, False),  # money out
    ("restricted", {"api_keys": "read"}, False),
])
def test_a_member_cannot_create_a_key_beyond_their_role(kind: str, permissions: dict[str, str] | None,
                                                        allowed: bool) -> None:
    team = make_team("Key shop", roles=("staff",))
    request = RequestFactory().post("/dashboard/api-keys/new/")
    request.user = team.users["staff"]
    assert Membership.objects.get(user=team.users["staff"]).role == "staff"
    if allowed:
        issued = services.api_key_create_by(request, merchant_id=team.merchant.pk, kind=kind, name="",
                                            permissions=permissions)
        assert issued.api_key.permissions == permissions
    else:
        with pytest.raises(PaymentsError) as refused:
            services.api_key_create_by(request, merchant_id=team.merchant.pk, kind=kind, name="",
                                       permissions=permissions)
        assert refused.value.code == "permission_denied"
        assert not ApiKey.objects.filter(merchant=team.merchant).exists()
