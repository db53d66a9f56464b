"""Inputs that once answered 500 (issue 13) answer 4xx in their surface's error shape and store
nothing; the nested-JSON body is refused before the parser recurses."""

from __future__ import annotations

import csv
import io
import json
import sys
from typing import Any

import pytest
from django.test import Client
from eth_account import Account

from hub.channels.models import Channel, ChannelUpdate, ProposedUpdate
from hub.ledger.models import LedgerEntry
from hub.purchases.models import Payment, Purchase
from linkpay.models import Link
from ops.apps import RECURSION_LIMIT
from payments.invoices.models import Invoice
from payments.invoices.services import invoice_create
from tests.dashboard.helpers import make_payment, make_team, sign_in
from tests.hub.api.user_sim import UserSim
from tests.payments.conftest import Shop

NESTED = b"[" * 100_000 + b"]" * 100_000
ETH = 10**18
UINT256_MAX = 2**256 - 1


def money_rows() -> tuple[int, ...]:
    return (Purchase.objects.count(), Payment.objects.count(), ChannelUpdate.objects.count(),
            ProposedUpdate.objects.count(), LedgerEntry.objects.count(), Invoice.objects.count(),
            Channel.objects.count(), Link.objects.count())


def hub_user() -> UserSim:
    user = UserSim(Account.create(), "0x" + "cc" * 20)
    user.login()
    return user


def raw_post(client: Client, path: str, body: bytes | str, **headers: str) -> Any:
    return client.post(path, body, content_type="application/json", headers=headers)


# --- one decoder, with a depth limit -------------------------------------------------------

def test_the_recursion_limit_is_back_to_a_sane_value_after_the_ethereum_libraries_load() -> None:
    import py_ecc  # noqa: F401  (raises the limit to 100 000 when first imported)

    assert sys.getrecursionlimit() == RECURSION_LIMIT <= 3000


@pytest.mark.django_db
def test_a_deeply_nested_body_is_refused_by_the_hub_api_before_it_is_parsed() -> None:
    user = hub_user()
    response = raw_post(user.client, "/api/hub/payments/purchase", NESTED, **user.headers)
    assert response.status_code == 400
    assert response.json()["code"] == "json_too_deep"


@pytest.mark.django_db
def test_a_deeply_nested_body_is_refused_by_the_link_claim_page() -> None:
    response = raw_post(Client(), "/l/lnk_" + "0" * 24 + "/claim", NESTED)
    assert response.status_code == 400
    assert response.json()["code"] == "json_too_deep"


@pytest.mark.django_db
def test_a_deeply_nested_body_is_refused_by_the_merchant_api_and_its_idempotency_fingerprint(
        shop: Shop) -> None:
    api = shop.client()
    for key in (None, "nested-1"):
        response = api.post("/api/v1/invoices", raw=NESTED, **({"Idempotency-Key": key} if key else {}))
        assert response.status_code == 400, response.content
        assert response.json()["error"]["code"] == "parse_error"
    assert Invoice.objects.count() == 0


@pytest.mark.django_db
def test_a_body_over_the_size_limit_is_413_in_the_merchant_api_error_shape(shop: Shop) -> None:
    body = json.dumps({"amount": "1", "asset": "wei", "description": "x" * 300_000})
    for key in (None, "big-1"):
        response = shop.client().post("/api/v1/invoices", raw=body.encode(),
                                      **({"Idempotency-Key": key} if key else {}))
        assert response.status_code == 413, response.content
        error = response.json()["error"]
        assert (error["code"], error["type"]) == ("body_too_large", "invalid_request_error")
    assert Invoice.objects.count() == 0


@pytest.mark.django_db
def test_a_body_over_the_size_limit_is_413_on_the_hub_api_and_link_pages() -> None:
    user = hub_user()
    big = json.dumps({"meta": {"x": "y" * 300_000}, "payments": []})
    response = raw_post(user.client, "/api/hub/payments/purchase", big, **user.headers)
    assert (response.status_code, response.json()["code"]) == (413, "body_too_large")
    response = raw_post(Client(), "/l/lnk_" + "0" * 24 + "/claim", big)
    assert (response.status_code, response.json()["code"]) == (413, "body_too_large")


# --- purchase meta ---------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("meta", ['{"note": "a\\u0000b"}', '{"\\ud800": "x"}', '{"note": "\\udfff"}'])
def test_purchase_meta_that_postgres_cannot_store_is_refused_and_nothing_is_stored(
        hub_chain: Any, meta: str) -> None:
    from tests.purchases.helpers import funded_user, pay_request

    user = funded_user(hub_chain, tokens=5 * ETH)
    payment = pay_request(user, Account.create().address.lower(), token=ETH, ptype="PT_CUSTODIAL")
    body = '{"meta": ' + meta + ', "payments": [' + json.dumps(payment) + "]}"
    before = money_rows()
    response = raw_post(user.client, "/api/hub/payments/purchase", body, **user.headers)
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "bad_args"
    assert money_rows() == before
    # the same signed payment with storable meta goes through: only the meta was refused
    accepted = user.post("payments/purchase", {"meta": {"note": "ok"}, "payments": [payment]})
    assert accepted.status_code == 200, accepted.content


@pytest.mark.django_db
@pytest.mark.parametrize("sig_user", ['"0x\\u0000"', '"0x' + "ab" * 65 + '\\u0000"', '"' + "f" * 5000 + '"',
                                      '"0xnothex"', "7", "null", '""', '["0x"]'])
def test_a_deposit_request_signature_of_any_shape_is_refused_before_it_is_stored(sig_user: str) -> None:
    """request-deposit stored sigUser as given: a NUL byte answered 500 (schemathesis). It is
    shape-checked first, refused as bad_signature, and nothing is written."""
    from hub.channels.models import DepositAuthorization

    user = hub_user()
    body = '{"depositWei": "1000", "depositToken": "0", "sigUser": ' + sig_user + "}"
    before = (money_rows(), DepositAuthorization.objects.count())
    response = raw_post(user.client, f"/api/hub/channel/{user.address}/request-deposit", body, **user.headers)
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "bad_signature"
    assert (money_rows(), DepositAuthorization.objects.count()) == before


@pytest.mark.django_db
@pytest.mark.parametrize(("meta", "payment_meta"), [
    ({"note": "a\x00b"}, {}), ({"\ud800": "x"}, {}), ({}, {"note": "\udc00"}),
    ({"invoiceId": ["inv/1"]}, {}), ({}, {"invoiceId": 7}),
])
def test_the_purchase_service_refuses_unstorable_meta_before_it_locks_or_writes_anything(
        meta: dict[str, Any], payment_meta: dict[str, Any]) -> None:
    from hub.core import UpdateRejected
    from hub.purchases.services import purchase_create

    payer = Account.create().address.lower()
    payment = {"type": "PT_CUSTODIAL", "recipient": Account.create().address.lower(),
               "amount": {"amountWei": "1", "amountToken": "0"}, "meta": payment_meta,
               "update": {"reason": "Payment", "txCount": 1, "sigUser": "0x" + "11" * 65,
                          "args": {"recipient": "hub", "amountWei": "1", "amountToken": "0"}}}
    before = money_rows()
    with pytest.raises(UpdateRejected) as refused:
        purchase_create(sender=payer, meta=meta, payments=[payment])
    assert refused.value.code == "bad_args"
    assert money_rows() == before


# --- merchant API metadata -----------------------------------------------------------------

@pytest.mark.django_db
@pytest.mark.parametrize("metadata", ['{"\\ud800": "x"}', '{"k": "\\udbff"}', '{"k": "a\\udc00b"}'])
def test_merchant_metadata_with_a_lone_surrogate_is_refused(shop: Shop, metadata: str) -> None:
    body = '{"amount": "1000", "asset": "wei", "metadata": ' + metadata + "}"
    response = shop.client().post("/api/v1/invoices", raw=body.encode())
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "metadata_invalid"
    assert Invoice.objects.count() == 0


def test_metadata_clean_refuses_lone_surrogates_in_keys_and_values() -> None:
    from payments.errors import PaymentsError
    from payments.metadata import metadata_clean

    for bad in ({"\ud800": "x"}, {"k": "x\udfff"}):
        with pytest.raises(PaymentsError) as refused:
            metadata_clean(bad)
        assert refused.value.code == "metadata_invalid"
        json.dumps(refused.value.param).encode()  # the param can be sent back


# --- request-withdrawal exchangeRate -------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_a_withdrawal_with_a_rate_of_5000_digits_is_refused(hub_chain: Any) -> None:
    from tests.purchases.helpers import funded_user

    user = funded_user(hub_chain, wei=ETH // 10)
    before = money_rows()
    response = user.post(f"channel/{user.address}/request-withdrawal", {
        "recipient": user.address, "exchangeRate": "1" * 5000, "withdrawalWeiUser": "1000",
        "tokensToSell": "0", "weiToSell": "0", "withdrawalTokenUser": "0"})
    assert response.status_code == 400, response.content[:300]
    assert response.json()["code"] == "bad_args"
    assert money_rows() == before


def test_uint_and_rate_parsing_refuse_numbers_past_the_int_conversion_limit() -> None:
    from hub.core import UpdateRejected
    from hub.core.rates import rate_to_wad
    from hub.core.state import parse_uint

    for call in (lambda: parse_uint("9" * 5000, "amountWei"), lambda: rate_to_wad("9" * 5000),
                 lambda: rate_to_wad("1" * 60)):
        with pytest.raises(UpdateRejected):
            call()
    assert parse_uint(str(UINT256_MAX), "x") == UINT256_MAX


# --- dashboard -----------------------------------------------------------------------------

@pytest.mark.django_db
def test_a_failed_link_cancel_is_answered_with_a_4xx_not_a_server_error() -> None:
    team = make_team("Cancel shop")
    client = Client()
    sign_in(client, team.owner)
    missing = client.post("/dashboard/links/lnk_" + "0" * 24 + "/cancel/")
    assert missing.status_code < 500  # was an AttributeError (unbound form): 500


@pytest.mark.django_db
@pytest.mark.parametrize("invoice_id", [["inv/1", "x"], "inv/1", 7, {"a": "b"}])
def test_a_payers_invoice_id_of_any_shape_does_not_break_the_payment_page(invoice_id: Any) -> None:
    team = make_team("Meta shop")
    payment = make_payment(team.address, wei=ETH, meta={"invoiceId": invoice_id})
    client = Client()
    sign_in(client, team.owner)
    response = client.get(f"/dashboard/payments/{payment.public_id}/")
    assert response.status_code == 200
    assert b"<dt>Invoice</dt>" not in response.content


@pytest.mark.django_db
def test_a_payers_well_formed_invoice_id_is_still_linked() -> None:
    team = make_team("Meta shop")
    payment = make_payment(team.address, wei=ETH, meta={"invoiceId": "inv_" + "ab" * 12})
    client = Client()
    sign_in(client, team.owner)
    response = client.get(f"/dashboard/payments/{payment.public_id}/")
    assert f'href="/dashboard/invoices/inv_{"ab" * 12}/"'.encode() in response.content


@pytest.mark.django_db
def test_the_largest_invoice_amounts_render_exactly_in_the_list_the_detail_and_the_csv() -> None:
    from payments.units import human_amount

    team = make_team("Whale shop")
    for asset in ("wei", "token"):
        invoice_create(merchant_id=team.merchant.pk, amount=10**77 - 1, asset=asset)
        invoice_create(merchant_id=team.merchant.pk, amount=UINT256_MAX, asset=asset)
    client = Client()
    sign_in(client, team.owner)
    listing = client.get("/dashboard/invoices/")
    assert listing.status_code == 200
    exact = "99999999999999999999999999999999999999999999999999999999999.999999999999999999"
    assert human_amount(10**77 - 1, "wei") == exact
    assert exact.encode() in listing.content or b"99,999,999" in listing.content
    for invoice in Invoice.objects.all():
        assert client.get(f"/dashboard/invoices/{invoice.public_id}/").status_code == 200
    export = client.get("/dashboard/export/", {"kind": "invoices"})
    assert export.status_code == 200
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert sorted(r["amount"] for r in rows) == sorted([exact, exact, human_amount(UINT256_MAX, "wei"),
                                                         human_amount(UINT256_MAX, "wei")])
    assert {r["fiat_usd"] for r in rows if r["asset"] == "SPD"} == {
        "100000000000000000000000000000000000000000000000000000000000.00",
        "115792089237316195423570985008687907853269984665640564039457.58"}


def test_money_formatting_is_exact_for_every_uint256() -> None:
    from decimal import Decimal

    from payments.dashboard.money import Money, fiat_label
    from payments.units import human_amount

    assert human_amount(UINT256_MAX, "wei") == \
        "115792089237316195423570985008687907853269984665640564039457.584007913129639935"
    assert human_amount(1, "wei") == "0.000000000000000001"
    assert human_amount(15 * 10**17, "token") == "1.5"
    assert human_amount(0, "wei") == "0"
    rich = Money(UINT256_MAX, "wei", Decimal("2.5"))
    assert rich.fiat == Decimal("289480223093290488558927462521719769633174961664101410098643.96")
    assert fiat_label(rich.fiat).startswith("$289,480,223,093,290,488")
    assert Money(5 * 10**15, "token").fiat == Decimal("0.01")  # half a cent rounds up
