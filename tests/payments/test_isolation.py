"""The tenant matrix: every object endpoint of the OpenAPI document against another merchant's
key, a revoked key, a read-only key on writes and no key; key rolling and creation by every kind
of key against every kind of key; every dashboard route against each team role and another
merchant's owner; an invoice credited across merchants. Only refusals, nothing of the owner leaks,
and nothing of the owner changes. Objects are real (a payment carried by a signed state, a
funded link), so a refusal is never just "no such id"."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern
from django.utils import timezone

from config import dashboard_urls
from hub.purchases.models import Payment
from linkpay.models import Link
from linkpay.services import link_create_custodial
from payments.apikeys.models import ApiKey
from payments.apikeys.services import api_key_create, api_key_revoke
from payments.dashboard.models import TeamInvitation
from payments.events.services import event_record
from payments.invoices.models import Invoice, InvoicePayment
from payments.invoices.services import invoice_apply_payment, invoice_create
from payments.merchants.models import Membership
from payments.merchants.permissions import ACCESS_LEVELS, RESOURCES, role_allows
from payments.merchants.services import membership_set
from payments.refunds.models import Refund
from payments.settlements.models import Settlement
from payments.webhooks.models import WebhookDelivery, WebhookEndpoint
from payments.webhooks.services import endpoint_create
from tests.dashboard.helpers import form_token, make_payment, make_team, make_user, sign_in
from tests.payments.conftest import Api, Shop

ETH = 10**18


@dataclass
class Owned:
    """One object of every kind of the owner's, by collection name, and its secrets."""

    ids: dict[str, str]
    secrets: list[str]
    payment_pk: int
    invoice: Invoice
    link: Link
    endpoint: WebhookEndpoint
    key: ApiKey


def owner_objects(shop: Shop) -> Owned:
    merchant_id = shop.merchant.pk
    payment = make_payment(shop.address, wei=ETH)  # a real payment to the shop, credited
    endpoint = endpoint_create(merchant_id=merchant_id, url="https://hooks.example.com/hook", event_types=["*"])
    invoice = invoice_create(merchant_id=merchant_id, amount=1000, asset="token")  # records an event
    delivery = WebhookDelivery.objects.filter(endpoint=endpoint).first()
    assert delivery is not None
    event = event_record(type="test.ping", merchant_id=merchant_id, data={"object": {}})
    refund = Refund.objects.create(merchant_id=merchant_id, payment_id=payment.pk, recipient=payment.sender,
                                   amount=1, asset="wei")
    settlement = Settlement.objects.create(merchant_id=merchant_id, asset="wei", amount=1,
                                           payout_address=shop.address)
    issued_key = api_key_create(merchant_id=merchant_id, kind="secret")
    link = link_create_custodial(merchant_id=merchant_id, amount=ETH // 10, asset="wei")
    listed = shop.client().get("/api/v1/payments").json()["data"]
    assert len(listed) == 1
    return Owned(
        ids={
            "invoices": invoice.public_id, "refunds": refund.public_id,
            "settlements": settlement.public_id, "webhook_endpoints": endpoint.public_id,
            "webhook_deliveries": delivery.public_id, "events": event.public_id,
            "api_keys": issued_key.api_key.public_id, "payments": listed[0]["id"],
            "links": link.link.public_id,
        },
        secrets=[endpoint.secret, issued_key.plaintext, link.secret, shop.key],
        payment_pk=payment.pk, invoice=invoice, link=link.link, endpoint=endpoint, key=issued_key.api_key,
    )


PUBLIC_OPERATIONS = [("/api/v1/public/invoices/{id}", "get")]  # no key by design (wallets)


def operations(schema: dict[str, Any]) -> list[tuple[str, str]]:
    """Every operation that needs an API key; the public ones are exactly PUBLIC_OPERATIONS."""
    found = [(path, method) for path, item in schema["paths"].items()
             for method in item if method in ("get", "post", "delete", "put", "patch")]
    public = [(path, method) for path, method in found if schema["paths"][path][method].get("security") == []]
    assert public == PUBLIC_OPERATIONS
    return [op for op in found if op not in public]


def test_the_public_invoice_read_shows_what_a_wallet_pays_and_nothing_private(shop: Shop) -> None:
    invoice = invoice_create(merchant_id=shop.merchant.pk, amount=1000, asset="token",
                             order_id="order-secret-77", metadata={"customer": "alice@example.com"})
    response = Api(None).get(f"/api/v1/public/invoices/{invoice.public_id}")
    assert response.status_code == 200
    data = response.json()
    assert (data["amount_remaining"], data["pay_to"], data["payment_meta"]) == (
        "1000", shop.address, {"invoiceId": invoice.public_id})
    body = response.content.decode()
    assert "order-secret-77" not in body and "alice@example.com" not in body
    assert shop.merchant.name not in body
    assert Api(None).get("/api/v1/public/invoices/inv_nope").status_code == 404


def call(api: Api, method: str, path: str) -> Any:
    if method == "get":
        return api.get(path)
    if method == "delete":
        return api.delete(path)
    return api.post(path, {})


@pytest.fixture
def schema(shop: Shop) -> dict[str, Any]:
    response = Client().get("/api/v1/schema/?format=json")
    assert response.status_code == 200
    return json.loads(response.content)


def owner_state(shop: Shop, owned: Owned) -> dict[str, Any]:
    """Everything a refused write could have touched."""
    key = ApiKey.objects.get(pk=owned.key.pk)
    endpoint = WebhookEndpoint.objects.get(pk=owned.endpoint.pk)
    invoice = Invoice.objects.get(pk=owned.invoice.pk)
    return {
        "key": (key.revoked_at, key.expires_at, ApiKey.objects.filter(rolled_from=key).exists()),
        "keys": ApiKey.objects.filter(merchant=shop.merchant).count(),
        "endpoint": (endpoint.enabled, endpoint.url, endpoint.secret, endpoint.event_types),
        "deliveries": WebhookDelivery.objects.filter(endpoint=endpoint).count(),
        "link": Link.objects.get(pk=owned.link.pk).status,
        "refunds": Refund.objects.filter(merchant=shop.merchant).count(),
        "settlements": Settlement.objects.filter(merchant=shop.merchant).count(),
        "invoice": (invoice.state, invoice.amount_received),
        "links": Link.objects.filter(merchant=shop.merchant).count(),
    }


def test_every_endpoint_refuses_strangers_and_leaks_nothing(
    shop: Shop, other_shop: Shop, schema: dict[str, Any],
) -> None:
    owned = owner_objects(shop)
    revoked = api_key_create(merchant_id=shop.merchant.pk, kind="secret")
    api_key_revoke(merchant_id=shop.merchant.pk, key_id=revoked.api_key.public_id)
    read_only = Api(api_key_create(merchant_id=shop.merchant.pk, kind="read_only").plaintext)
    stranger, revoked_api, anonymous = other_shop.client(), Api(revoked.plaintext), Api(None)
    before = owner_state(shop, owned)
    assert before["link"] == Link.Status.OPEN and before["key"] == (None, None, False)

    ops = operations(schema)
    assert len(ops) >= 25
    checked = 0
    for path, method in ops:
        if "{id}" in path:
            collection = path.split("/")[3]
            assert collection in owned.ids, f"no owner object for {path}: add one to owner_objects"
            url = path.replace("{id}", owned.ids[collection])
        else:
            url = path
        for api, allowed in ((anonymous, {401}), (revoked_api, {401})):
            response = call(api, method, url)
            assert response.status_code in allowed, (method, url, response.status_code)
        if method != "get":
            response = call(read_only, method, url)
            assert response.status_code == 403, (method, url, response.status_code)
        response = call(stranger, method, url)
        if "{id}" in path:
            assert response.status_code in (401, 403, 404), (method, url, response.status_code)
        body = response.content.decode()
        leaked = [i for i in [*owned.ids.values(), *owned.secrets] if i in body]
        assert not leaked, (method, url, leaked)
        checked += 1
    assert checked == len(ops)
    # 4 principals (no key, revoked, read-only on writes, another merchant's secret key) x routes
    print(f"tenant matrix, API: 4 principals x {len(ops)} operations")
    assert owner_state(shop, owned) == before
    assert WebhookDelivery.objects.filter(endpoint__merchant=other_shop.merchant).count() == 0
    assert not Link.objects.filter(merchant=other_shop.merchant).exists()


# --- key rolling and creation: never more access than the caller's -----------------------------

KEY_SHAPES: list[tuple[str, dict[str, str]]] = [
    ("secret", {}),
    ("read_only", {}),
    ("restricted", {"api_keys": "write"}),
    ("restricted", {"api_keys": "write", "invoices": "write", "webhooks": "read"}),
    ("restricted", {"api_keys": "write", "invoices": "read"}),
    ("restricted", {"api_keys": "read"}),
    ("restricted", {"invoices": "write", "refunds": "write"}),
]


def grants(kind: str, permissions: dict[str, str]) -> dict[str, str]:
    if kind == "secret":
        return dict.fromkeys(RESOURCES, "write")
    if kind == "read_only":
        return dict.fromkeys(RESOURCES, "read")
    return permissions


def covers(caller: dict[str, str], target: dict[str, str]) -> bool:
    rank = {None: 0, **{level: i + 1 for i, level in enumerate(ACCESS_LEVELS)}}
    return all(rank[caller.get(resource)] >= rank[access] for resource, access in target.items())


def make_key(shop: Shop, kind: str, permissions: dict[str, str]) -> Any:
    return api_key_create(merchant_id=shop.merchant.pk, kind=kind, permissions=permissions or None)


@pytest.mark.parametrize(("caller_kind", "caller_permissions"), KEY_SHAPES)
def test_a_key_rolls_or_creates_only_keys_with_no_more_access_than_its_own(
    shop: Shop, other_shop: Shop, caller_kind: str, caller_permissions: dict[str, str],
) -> None:
    caller = Api(make_key(shop, caller_kind, caller_permissions).plaintext)
    mine = grants(caller_kind, caller_permissions)
    may_manage_keys = mine.get("api_keys") == "write"
    for kind, permissions in KEY_SHAPES:
        target = make_key(shop, kind, permissions).api_key
        allowed = may_manage_keys and covers(mine, grants(kind, permissions))
        rolled = caller.post(f"/api/v1/api_keys/{target.public_id}/roll", {"expires_in_seconds": 0})
        assert rolled.status_code == (201 if allowed else 403), (caller_kind, caller_permissions, kind,
                                                                  permissions, rolled.content)
        target.refresh_from_db()
        assert (target.revoked_at is not None) is allowed
        assert ("secret" in rolled.json()) is allowed
        body = {"kind": kind, **({"permissions": permissions} if kind == "restricted" else {})}
        created = caller.post("/api/v1/api_keys", body)
        assert created.status_code == (201 if allowed else 403), (caller_kind, kind, permissions, created.content)
        # another merchant's key of any kind: never
        foreign = make_key(other_shop, kind, permissions).api_key
        response = caller.post(f"/api/v1/api_keys/{foreign.public_id}/roll", {})
        assert response.status_code in (403, 404)
        foreign.refresh_from_db()
        assert foreign.expires_at is None and not ApiKey.objects.filter(rolled_from=foreign).exists()
    assert not ApiKey.objects.filter(merchant=other_shop.merchant, rolled_from__isnull=False).exists()


# --- webhook secrets ---------------------------------------------------------------------------

def test_webhook_signing_secrets_never_reach_another_merchant_or_a_key_without_webhooks(
    shop: Shop, other_shop: Shop,
) -> None:
    endpoint = endpoint_create(merchant_id=shop.merchant.pk, url="https://hooks.example.com/a", event_types=["*"])
    no_webhooks = Api(make_key(shop, "restricted", {"invoices": "write"}).plaintext)
    for api, path in ((other_shop.client(), f"/api/v1/webhook_endpoints/{endpoint.public_id}"),
                      (other_shop.client(), "/api/v1/webhook_endpoints"),
                      (other_shop.client(), f"/api/v1/webhook_endpoints/{endpoint.public_id}/rotate_secret"),
                      (no_webhooks, f"/api/v1/webhook_endpoints/{endpoint.public_id}"),
                      (no_webhooks, "/api/v1/webhook_endpoints")):
        response = api.post(path, {}) if path.endswith("rotate_secret") else api.get(path)
        assert endpoint.secret not in response.content.decode(), path
    assert other_shop.client().get("/api/v1/webhook_endpoints").json()["data"] == []
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).secret == endpoint.secret  # not rotated
    # the owner's full key does see it (the assertion above can fail)
    owner = shop.client().get(f"/api/v1/webhook_endpoints/{endpoint.public_id}").json()
    assert owner["secret"] == endpoint.secret


# --- invoices are credited only by value that reached their merchant ---------------------------

def test_an_invoice_is_credited_only_by_a_payment_to_its_own_merchant(shop: Shop, other_shop: Shop) -> None:
    invoice = invoice_create(merchant_id=shop.merchant.pk, amount=1000, asset="wei")
    foreign = make_payment(other_shop.address, wei=1000, meta={"invoiceId": invoice.public_id})
    counted = invoice_apply_payment(invoice_id=invoice.public_id, merchant_id=other_shop.merchant.pk,
                                    payment_id=foreign.pk, amount=1000, asset="wei", paid_at=timezone.now())
    invoice.refresh_from_db()
    assert counted is False
    assert (invoice.state, invoice.amount_received) == (Invoice.State.OPEN, 0)
    assert not InvoicePayment.objects.exists()
    own = make_payment(shop.address, wei=1000, meta={"invoiceId": invoice.public_id})
    assert invoice_apply_payment(invoice_id=invoice.public_id, merchant_id=shop.merchant.pk,
                                 payment_id=own.pk, amount=1000, asset="wei", paid_at=timezone.now())
    invoice.refresh_from_db()
    assert invoice.state == Invoice.State.PAID


# --- the dashboard: every route, each role of the merchant and another merchant's owner --------

def dashboard_routes() -> list[tuple[str, str | None, str]]:
    """(route name, resource, access) of every route behind dashboard_view."""
    found = []
    for pattern in dashboard_urls.urlpatterns:
        assert isinstance(pattern, URLPattern)
        permission = getattr(pattern.callback, "dashboard_permission", None)
        if permission is not None:
            found.append((str(pattern.name), *permission))
    return found


def route_url(name: str, ids: dict[str, Any]) -> str:
    from django.urls import reverse

    pattern = next(p for p in dashboard_urls.urlpatterns if p.name == name)
    kwargs = {key: ids[key] for key in pattern.pattern.converters}
    return reverse(f"payments:dashboard:{name}", kwargs=kwargs)


# bodies that would succeed on the stranger's own objects
POST_BODIES = {
    "member_role": {"role": "owner"}, "refund_create": {"amount": "", "reason": "requested_by_customer"},
    "invite": {"email": "someone@example.com", "role": "owner"},
    "link_create": {"amount": "0.01", "asset": "wei", "expires_in_days": 1},
    "api_key_create": {"kind": "secret", "name": "x"},
}


# Reads that answer 404 in this world because what they serve does not exist yet: no proof of
# liabilities is published here (tests/dashboard/test_proof_of_funds.py downloads a published one).
READ_WITHOUT_DATA = {"proof_download": 404}


def test_every_dashboard_route_follows_the_role_table_and_refuses_another_merchants_owner(db: Any) -> None:
    team = make_team("Matrix shop", roles=("manager", "staff"))
    shop = Shop(team.merchant, team.address, api_key_create(merchant_id=team.merchant.pk, kind="secret").plaintext)
    owned = owner_objects(shop)
    stranger_team = make_team("Stranger shop")
    # the stranger is also staff elsewhere: a membership of a third merchant opens nothing here
    membership_set(merchant_id=make_team("Third shop").merchant.pk, user=stranger_team.owner, role="staff")
    ids = {
        "payment_id": Payment.objects.get(pk=owned.payment_pk).public_id, "invoice_id": owned.ids["invoices"], "link_id": owned.ids["links"],
        "key_id": owned.ids["api_keys"], "endpoint_id": owned.ids["webhook_endpoints"],
        "delivery_id": owned.ids["webhook_deliveries"],
        "settlement_id": owned.ids["settlements"],
        "membership_id": Membership.objects.get(merchant=team.merchant, role="staff").pk,
        "invitation_id": TeamInvitation.objects.create(
            merchant=team.merchant, email="invited@example.com", role="staff", token_hash="0" * 64,
            expires_at=timezone.now() + timedelta(days=1)).pk,
    }
    memberships = dict(Membership.objects.filter(merchant=team.merchant).values_list("pk", "role"))
    before = owner_state(shop, owned)
    routes = dashboard_routes()
    assert len(routes) >= 25
    cells = 0
    for role in ("owner", "manager", "staff"):
        client = Client()
        sign_in(client, team.users[role])
        for name, resource, access in routes:
            if resource is None:
                continue  # every member's own pages (security, switch): no role in it
            url = route_url(name, ids)
            allowed = role_allows(role, resource, access)
            if access == "write":
                if allowed:
                    continue  # the owner's own writes are the action tests' business
                response = client.post(url, POST_BODIES.get(name, {}))
                assert response.status_code == 403, (role, name, response.status_code)
            else:
                response = client.get(url)
                expected = READ_WITHOUT_DATA.get(name, 200) if allowed else 403
                assert response.status_code == expected, (role, name, response.status_code)
            cells += 1
    stranger = Client()
    sign_in(stranger, stranger_team.owner)
    for name, _resource, access in routes:
        pattern = next(p for p in dashboard_urls.urlpatterns if p.name == name)
        if not pattern.pattern.converters:
            continue  # no object of ours in the URL: the stranger acts on its own merchant
        url = route_url(name, ids)
        # with a valid once-only form token of the stranger's own (from their own dashboard)
        response = (stranger.post(url, {**POST_BODIES.get(name, {}),
                                        "form_token": form_token(stranger, "/dashboard/links/")})
                    if access == "write" else stranger.get(url))
        assert response.status_code in (400, 403, 404), (name, response.status_code)
        body = response.content.decode()
        leaked = [i for i in [*owned.ids.values(), *owned.secrets] if i in body]
        assert not leaked, (name, leaked)
        cells += 1
    print(f"tenant matrix, dashboard: {cells} role x route cells")
    assert dict(Membership.objects.filter(merchant=team.merchant).values_list("pk", "role")) == memberships
    assert not Membership.objects.filter(merchant=team.merchant, user=stranger_team.owner).exists()
    assert not Membership.objects.filter(merchant=team.merchant, user__username="someone").exists()
    assert not TeamInvitation.objects.filter(merchant=team.merchant, email="someone@example.com").exists()
    assert TeamInvitation.objects.get(merchant=team.merchant).revoked_at is None
    assert owner_state(shop, owned) == before


def test_a_user_of_another_merchant_cannot_switch_into_this_one(db: Any) -> None:
    team = make_team("Switch shop")
    make_payment(team.address, wei=ETH)
    outsider = make_user("outsider")
    membership_set(merchant_id=make_team("Own shop").merchant.pk, user=outsider, role="owner")
    client = Client()
    sign_in(client, outsider)
    assert client.get("/dashboard/payments/").status_code == 200
    client.post("/dashboard/switch/", {"merchant": team.merchant.pk})
    page = client.get("/dashboard/payments/")
    assert page.status_code == 200 and team.address not in page.content.decode()
    assert client.get(f"/dashboard/payments/{Payment.objects.get().public_id}/").status_code == 404


def test_the_role_table_answers_each_access_and_nothing_for_an_unknown_role_or_resource() -> None:
    from payments.merchants.permissions import (
        MANAGER,
        OWNER,
        RESOURCES,
        STAFF,
        access_allows,
        role_allows,
    )

    assert [access_allows(granted, wanted) for granted in ("write", "read", None, "admin")
            for wanted in ("read", "write")] == [True, True, True, False, False, False, False, False]
    assert all(role_allows(OWNER, resource, "write") for resource in RESOURCES)
    assert role_allows(MANAGER, "api_keys", "read") and not role_allows(MANAGER, "api_keys", "write")
    assert role_allows(STAFF, "invoices", "write") and not role_allows(STAFF, "links", "write")
    assert not role_allows(STAFF, "team", "read")  # absent from the staff row: no access at all
    for role, resource in (("intruder", "payments"), (OWNER, "nuclear_codes"), ("", "")):
        assert not role_allows(role, resource, "read") and not role_allows(role, resource, "write")
