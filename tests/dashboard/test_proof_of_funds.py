"""A merchant's proof of funds: the merchant API (read key) and the dashboard page give the
latest signed root with the merchant's own leaves only, and the downloaded proof verifies."""

from __future__ import annotations

import json

import pytest
from django.db import transaction
from django.test import Client

from hub.core.liabilities import verify_liability_proof
from hub.ledger.services import post
from hub.liabilities.services import liabilities_publish
from payments.apikeys.services import api_key_create
from tests.dashboard.helpers import make_team, sign_in

pytestmark = [pytest.mark.django_db]


def _credit(address: str, asset: str, amount: int) -> None:
    with transaction.atomic():
        post([(f"custodial:{address}", asset, amount), ("hub:custodial_float", asset, -amount)])


def test_the_merchant_api_gives_the_merchants_own_proofs() -> None:
    team, other = make_team("Proof Books"), make_team("Other Books")
    key = api_key_create(merchant_id=team.merchant.pk, kind="secret", name="t").plaintext
    api = Client(headers={"Authorization": f"Bearer {key}"})
    missing = api.get("/api/v1/liabilities/proof")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "resource_missing"
    _credit(team.address, "wei", 12345)
    _credit(team.address, "token", 10**18)
    _credit(other.address, "token", 777)
    root = liabilities_publish()
    assert Client().get("/api/v1/liabilities/proof").status_code == 401
    response = api.get("/api/v1/liabilities/proof")
    assert response.status_code == 200, response.content
    document = response.json()
    assert document["root"]["commitment"] == root.commitment
    proven = {(p["account"], p["asset"]): verify_liability_proof(p, document["root"], root.hub_address)
              for p in document["proofs"]}
    assert proven == {(f"custodial:{team.address}", "wei"): 12345,
                      (f"custodial:{team.address}", "token"): 10**18}
    assert other.address not in response.content.decode()


def test_the_dashboard_page_verifies_and_downloads_the_proof() -> None:
    team = make_team("Proof Coffee", roles=("staff",))
    client = Client()
    sign_in(client, team.users["staff"])
    page = client.get("/dashboard/proof/")
    assert page.status_code == 200 and b"has not published a proof" in page.content
    assert client.get("/dashboard/proof/proof.json").status_code == 404
    _credit(team.address, "token", 5 * 10**18)
    root = liabilities_publish()
    page = client.get("/dashboard/proof/").content.decode()
    assert 'data-verified="yes"' in page and 'data-verified="no"' not in page
    assert root.commitment in page and "Proof of funds" in page
    download = client.get("/dashboard/proof/proof.json")
    assert download["Content-Disposition"].startswith("attachment;")
    document = json.loads(download.content)
    [proof] = document["proofs"]
    assert verify_liability_proof(proof, document["root"], root.hub_address) == 5 * 10**18
