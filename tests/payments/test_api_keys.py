"""API keys: shown once, stored as an HMAC, revocable, restricted, rollable with an overlap."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from payments.api.auth import ApiKeyAuthentication
from payments.apikeys.models import ApiKey
from payments.apikeys.services import (
    api_key_authenticate,
    api_key_create,
    api_key_revoke,
    api_key_roll,
    key_allows,
    secret_hash,
)
from payments.errors import PaymentsError
from tests.payments.conftest import Api, Shop


def test_a_created_key_is_shown_once_and_works(shop: Shop) -> None:
    response = shop.client().post("/api/v1/api_keys", {"kind": "secret", "name": "backend"})
    assert response.status_code == 201
    secret = response.json()["secret"]
    assert secret.startswith("sk_live_")
    key_id = response.json()["id"]
    assert Api(secret).get("/api/v1/balance").status_code == 200
    listed = shop.client().get(f"/api/v1/api_keys/{key_id}").json()
    assert "secret" not in listed and listed["prefix"] == secret.rsplit("_", 1)[0]


def test_the_plaintext_of_a_key_never_appears_in_the_database(shop: Shop) -> None:
    issued = [api_key_create(merchant_id=shop.merchant.pk, kind=kind).plaintext
              for kind in ("secret", "read_only")]
    issued.append(shop.key)
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM payments_apikey")
        dump = repr(cursor.fetchall())
    assert ApiKey.objects.count() == 3
    for plaintext in issued:
        secret_part = plaintext.rsplit("_", 1)[1]
        assert plaintext not in dump and secret_part not in dump


def test_a_wrong_secret_with_a_valid_prefix_is_refused(shop: Shop) -> None:
    forged = shop.key[:-4] + ("AAAA" if not shop.key.endswith("AAAA") else "BBBB")
    response = Api(forged).get("/api/v1/balance")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "api_key_invalid"


def test_a_revoked_key_gets_401_on_the_next_request(shop: Shop) -> None:
    issued = api_key_create(merchant_id=shop.merchant.pk, kind="secret")
    assert Api(issued.plaintext).get("/api/v1/balance").status_code == 200
    assert shop.client().post(f"/api/v1/api_keys/{issued.api_key.public_id}/revoke").status_code == 200
    response = Api(issued.plaintext).get("/api/v1/balance")
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Bearer")


def test_read_only_keys_can_read_but_get_403_on_writes(shop: Shop) -> None:
    read_only = Api(api_key_create(merchant_id=shop.merchant.pk, kind="read_only").plaintext)
    assert read_only.get("/api/v1/invoices").status_code == 200
    response = read_only.post("/api/v1/invoices", {"amount": "100", "asset": "wei"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_restricted_keys_reach_only_their_resources(shop: Shop) -> None:
    issued = api_key_create(merchant_id=shop.merchant.pk, kind="restricted",
                            permissions={"invoices": "write", "events": "read"})
    key = Api(issued.plaintext)
    assert issued.plaintext.startswith("rk_live_")
    assert key.post("/api/v1/invoices", {"amount": "100", "asset": "wei"}).status_code == 201
    assert key.get("/api/v1/events").status_code == 200
    assert key.get("/api/v1/settlements").status_code == 403
    assert key.post("/api/v1/webhook_endpoints", {"url": "http://x.test/h",
                                                  "enabled_events": ["*"]}).status_code == 403


def test_a_restricted_key_naming_an_unknown_permission_is_refused_not_trimmed(shop: Shop) -> None:
    api = shop.client()
    before = ApiKey.objects.count()
    response = api.post("/api/v1/api_keys", {"kind": "restricted",
                                             "permissions": {"invoices": "write", "invoice": "read"}})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "permission_unknown"
    assert response.json()["error"]["param"] == "permissions[invoice]"
    assert ApiKey.objects.count() == before
    with pytest.raises(PaymentsError) as refused:  # the service (the dashboard's path) refuses too
        api_key_create(merchant_id=shop.merchant.pk, kind="restricted", permissions={"webhook": "read"})
    assert (refused.value.code, refused.value.param) == ("permission_unknown", "permissions")
    assert ApiKey.objects.count() == before


def test_a_restricted_key_cannot_mint_a_more_powerful_key(shop: Shop) -> None:
    key = Api(api_key_create(merchant_id=shop.merchant.pk, kind="restricted",
                             permissions={"api_keys": "write"}).plaintext)
    response = key.post("/api/v1/api_keys", {"kind": "secret"})
    assert response.status_code == 403
    allowed = key.post("/api/v1/api_keys", {"kind": "restricted", "permissions": {"api_keys": "read"}})
    assert allowed.status_code == 201


def test_a_restricted_key_cannot_roll_a_key_with_more_access_than_its_own(shop: Shop) -> None:
    key = Api(api_key_create(merchant_id=shop.merchant.pk, kind="restricted",
                             permissions={"api_keys": "write"}).plaintext)
    stronger = [
        api_key_create(merchant_id=shop.merchant.pk, kind="secret").api_key,
        api_key_create(merchant_id=shop.merchant.pk, kind="read_only").api_key,
        api_key_create(merchant_id=shop.merchant.pk, kind="restricted",
                       permissions={"api_keys": "write", "refunds": "write"}).api_key,
    ]
    for target in stronger:
        response = key.post(f"/api/v1/api_keys/{target.public_id}/roll", {"expires_in_seconds": 0})
        assert response.status_code == 403, (target.kind, response.content)
        assert response.json()["error"]["code"] == "permission_denied"
        assert "secret" not in response.json()
        target.refresh_from_db()
        assert (target.revoked_at, target.expires_at) == (None, None)
    assert ApiKey.objects.filter(rolled_from__isnull=False).count() == 0
    # a key with no more access than the caller's may be rolled
    lesser = api_key_create(merchant_id=shop.merchant.pk, kind="restricted",
                            permissions={"api_keys": "read"}).api_key
    response = key.post(f"/api/v1/api_keys/{lesser.public_id}/roll")
    assert response.status_code == 201 and response.json()["secret"].startswith("rk_live_")
    assert response.json()["permissions"] == {"api_keys": "read"}


def test_a_read_only_key_can_neither_create_nor_roll_keys(shop: Shop) -> None:
    read_only = api_key_create(merchant_id=shop.merchant.pk, kind="read_only")
    key = Api(read_only.plaintext)
    assert key.post("/api/v1/api_keys", {"kind": "read_only"}).status_code == 403
    response = key.post(f"/api/v1/api_keys/{read_only.api_key.public_id}/roll")
    assert response.status_code == 403
    assert ApiKey.objects.count() == 2


def test_a_rolled_key_keeps_working_only_through_the_overlap(shop: Shop) -> None:
    old = api_key_create(merchant_id=shop.merchant.pk, kind="secret")
    now = timezone.now()
    new = api_key_roll(merchant_id=shop.merchant.pk, key_id=old.api_key.public_id,
                       overlap_seconds=3600, now=now)
    assert api_key_authenticate(new.plaintext, now=now) is not None
    assert api_key_authenticate(old.plaintext, now=now + timedelta(seconds=3599)) is not None
    assert api_key_authenticate(old.plaintext, now=now + timedelta(seconds=3600)) is None
    assert api_key_authenticate(new.plaintext, now=now + timedelta(days=30)) is not None


def test_rolling_with_no_overlap_revokes_the_old_key_at_once(shop: Shop) -> None:
    response = shop.client().get("/api/v1/api_keys").json()
    own_id = response["data"][0]["id"]
    rolled = shop.client().post(f"/api/v1/api_keys/{own_id}/roll", {"expires_in_seconds": 0})
    assert rolled.status_code == 201
    assert shop.client().get("/api/v1/balance").status_code == 401
    assert Api(rolled.json()["secret"]).get("/api/v1/balance").status_code == 200


def test_last_used_is_written_at_most_once_a_minute(shop: Shop) -> None:
    now = timezone.now()
    key = api_key_authenticate(shop.key, now=now)
    assert key is not None and key.last_used_at == now
    api_key_authenticate(shop.key, now=now + timedelta(seconds=30))
    assert ApiKey.objects.get(pk=key.pk).last_used_at == now
    api_key_authenticate(shop.key, now=now + timedelta(seconds=61))
    assert ApiKey.objects.get(pk=key.pk).last_used_at == now + timedelta(seconds=61)


def test_last_used_never_goes_back_when_a_concurrent_request_recorded_a_later_use(shop: Shop) -> None:
    """Two requests with one key: the second records its use between the first one's read of the
    key and its write. The write is conditional on the stored value, so the later use stays."""
    now = timezone.now()
    later = now + timedelta(seconds=5)
    raced = []

    def concurrent_use(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        result = execute(sql, params, many, context)
        if not raced and sql.lstrip().upper().startswith("SELECT") and ApiKey._meta.db_table in sql:
            raced.append(True)  # the other request's write lands right after our read
            with connection.cursor() as cursor:
                cursor.execute(f"UPDATE {ApiKey._meta.db_table} SET last_used_at = %s "
                               "WHERE merchant_id = %s", [later, shop.merchant.pk])
        return result

    with connection.execute_wrapper(concurrent_use):
        key = api_key_authenticate(shop.key, now=now)
    assert raced and key is not None
    assert {k.last_used_at for k in ApiKey.objects.filter(merchant=shop.merchant)} == {later}


def test_the_stored_hash_is_the_peppered_hmac_that_issued_keys_were_hashed_with(settings: object) -> None:
    """Changing the pepper or the hash would lock out every key already issued: pinned
    (HMAC-SHA256 keyed with HMAC-SHA256(SECRET_KEY, "spoke:api-key-pepper:v1"))."""
    settings.SECRET_KEY = "pinned-secret-key"  # type: ignore[attr-defined]
    assert secret_hash("A" * 32) == "09df95d232a9a9113f28f3774a95d33ec506951599e01602e9c279ff136e06cc"


def test_a_key_is_refused_under_the_other_scheme(shop: Shop) -> None:
    """The scheme is part of the key: a restricted key shown as sk_ (or a secret one as rk_) is
    not a key at all."""
    restricted = api_key_create(merchant_id=shop.merchant.pk, kind="restricted",
                                permissions={"invoices": "read"}).plaintext
    assert api_key_authenticate(restricted) is not None
    assert api_key_authenticate("sk" + restricted[2:]) is None
    assert api_key_authenticate("rk" + shop.key[2:]) is None
    assert api_key_authenticate(shop.key + "x") is None and api_key_authenticate("") is None


def test_an_expired_key_is_refused_from_the_instant_it_expires(shop: Shop) -> None:
    issued = api_key_create(merchant_id=shop.merchant.pk, kind="secret")
    expiry = timezone.now() + timedelta(hours=1)
    ApiKey.objects.filter(pk=issued.api_key.pk).update(expires_at=expiry)
    assert api_key_authenticate(issued.plaintext, now=expiry - timedelta(microseconds=1)) is not None
    assert api_key_authenticate(issued.plaintext, now=expiry) is None


def test_last_used_is_written_again_exactly_a_resolution_later(shop: Shop) -> None:
    now = timezone.now()
    assert api_key_authenticate(shop.key, now=now) is not None
    key = api_key_authenticate(shop.key, now=now + timedelta(seconds=60))
    assert key is not None and key.last_used_at == now + timedelta(seconds=60)
    assert ApiKey.objects.get(pk=key.pk).last_used_at == now + timedelta(seconds=60)


def test_kinds_grant_what_their_names_say(shop: Shop) -> None:
    secret = api_key_create(merchant_id=shop.merchant.pk, kind="secret").api_key
    read_only = api_key_create(merchant_id=shop.merchant.pk, kind="read_only").api_key
    restricted = api_key_create(merchant_id=shop.merchant.pk, kind="restricted",
                                permissions={"invoices": "write", "events": "read"}).api_key
    assert (secret.permissions, read_only.permissions) == ({}, {})
    assert restricted.permissions == {"invoices": "write", "events": "read"}
    for resource in ("balance", "refunds", "api_keys"):
        assert key_allows(secret, resource, "write") and key_allows(secret, resource, "read")
        assert key_allows(read_only, resource, "read") and not key_allows(read_only, resource, "write")
        assert not key_allows(restricted, resource, "read")
    assert key_allows(restricted, "invoices", "write") and key_allows(restricted, "events", "read")
    assert not key_allows(restricted, "events", "write")
    # a restricted key with no permissions listed reaches nothing
    empty = api_key_create(merchant_id=shop.merchant.pk, kind="restricted").api_key
    assert empty.permissions == {} and not key_allows(empty, "balance", "read")


def test_malformed_key_requests_are_refused_before_anything_is_written(shop: Shop) -> None:
    before = ApiKey.objects.count()
    refusals = [
        ({"kind": "admin"}, "parameter_invalid", "kind"),
        ({"kind": "restricted", "permissions": ["invoices"]}, "parameter_invalid", "permissions"),
        ({"kind": "restricted", "permissions": {"invoices": "admin"}}, "parameter_invalid", "permissions"),
    ]
    for arguments, code, param in refusals:
        with pytest.raises(PaymentsError) as refused:
            api_key_create(merchant_id=shop.merchant.pk, **arguments)  # type: ignore[arg-type]
        assert (refused.value.code, refused.value.param) == (code, param), arguments
    assert ApiKey.objects.count() == before
    # a long name is cut to the column's 100 characters, not refused
    named = api_key_create(merchant_id=shop.merchant.pk, kind="secret", name="n" * 150).api_key
    assert ApiKey.objects.get(pk=named.pk).name == "n" * 100


def test_a_key_may_create_keys_up_to_its_own_access(shop: Shop) -> None:
    creator = api_key_create(merchant_id=shop.merchant.pk, kind="restricted",
                             permissions={"api_keys": "write", "invoices": "read"}).api_key
    made = api_key_create(merchant_id=shop.merchant.pk, kind="restricted", created_by=creator,
                          permissions={"invoices": "read", "api_keys": "write"})
    assert made.api_key.permissions == {"invoices": "read", "api_keys": "write"}
    for kind, permissions in (("restricted", {"invoices": "write"}), ("read_only", None), ("secret", None)):
        with pytest.raises(PaymentsError) as refused:
            api_key_create(merchant_id=shop.merchant.pk, kind=kind, permissions=permissions,
                           created_by=creator)
        assert (refused.value.code, refused.value.param) == ("permission_denied", "permissions")
    secret = api_key_create(merchant_id=shop.merchant.pk, kind="secret").api_key
    assert api_key_create(merchant_id=shop.merchant.pk, kind="secret", created_by=secret).api_key.kind == "secret"


def test_revoking_twice_keeps_the_first_revocation(shop: Shop) -> None:
    issued = api_key_create(merchant_id=shop.merchant.pk, kind="secret")
    first = api_key_revoke(merchant_id=shop.merchant.pk, key_id=issued.api_key.public_id).revoked_at
    assert first is not None
    again = api_key_revoke(merchant_id=shop.merchant.pk, key_id=issued.api_key.public_id)
    assert again.revoked_at == first == ApiKey.objects.get(pk=issued.api_key.pk).revoked_at
    assert api_key_authenticate(issued.plaintext) is None


def test_a_roll_overlaps_at_most_a_week_and_only_live_unrolled_keys_roll(shop: Shop) -> None:
    now = timezone.now()
    old = api_key_create(merchant_id=shop.merchant.pk, kind="restricted", name="backend",
                         permissions={"invoices": "write"})
    for overlap in (-1, 7 * 24 * 3600 + 1):
        with pytest.raises(PaymentsError) as refused:
            api_key_roll(merchant_id=shop.merchant.pk, key_id=old.api_key.public_id,
                         overlap_seconds=overlap, now=now)
        assert (refused.value.code, refused.value.param) == ("parameter_invalid", "expires_in_seconds")
    new = api_key_roll(merchant_id=shop.merchant.pk, key_id=old.api_key.public_id,
                       overlap_seconds=7 * 24 * 3600, now=now)
    assert (new.api_key.kind, new.api_key.name, new.api_key.permissions) == (
        "restricted", "backend", {"invoices": "write"})
    assert ApiKey.objects.get(pk=new.api_key.pk).rolled_from_id == old.api_key.pk
    rolled = ApiKey.objects.get(pk=old.api_key.pk)
    assert (rolled.revoked_at, rolled.expires_at) == (None, now + timedelta(days=7))
    with pytest.raises(PaymentsError) as twice:
        api_key_roll(merchant_id=shop.merchant.pk, key_id=old.api_key.public_id, now=now)
    assert twice.value.code == "api_key_not_rollable"
    # a key that expires sooner than the overlap keeps its own expiry
    soon = api_key_create(merchant_id=shop.merchant.pk, kind="secret")
    ApiKey.objects.filter(pk=soon.api_key.pk).update(expires_at=now + timedelta(minutes=5))
    api_key_roll(merchant_id=shop.merchant.pk, key_id=soon.api_key.public_id, overlap_seconds=3600, now=now)
    assert ApiKey.objects.get(pk=soon.api_key.pk).expires_at == now + timedelta(minutes=5)
    # expired or revoked keys do not roll
    expired = api_key_create(merchant_id=shop.merchant.pk, kind="secret")
    ApiKey.objects.filter(pk=expired.api_key.pk).update(expires_at=now)
    revoked = api_key_create(merchant_id=shop.merchant.pk, kind="secret")
    api_key_revoke(merchant_id=shop.merchant.pk, key_id=revoked.api_key.public_id)
    for dead in (expired, revoked):
        with pytest.raises(PaymentsError) as refused:
            api_key_roll(merchant_id=shop.merchant.pk, key_id=dead.api_key.public_id, now=now)
        assert refused.value.code == "api_key_not_rollable"


def test_a_roll_by_default_overlaps_the_configured_time(shop: Shop) -> None:
    from payments import conf

    now = timezone.now()
    old = api_key_create(merchant_id=shop.merchant.pk, kind="secret")
    api_key_roll(merchant_id=shop.merchant.pk, key_id=old.api_key.public_id, now=now)
    assert ApiKey.objects.get(pk=old.api_key.pk).expires_at == now + timedelta(
        seconds=conf.API_KEY_ROLL_OVERLAP_SECONDS)


def test_a_request_without_a_key_is_asked_for_one_and_reaches_no_view(shop: Shop) -> None:
    for path in ("/api/v1/balance", "/api/v1/invoices"):
        response = Client().get(path)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "authentication_required"
        assert response["WWW-Authenticate"] == 'Bearer realm="api"'


@pytest.mark.parametrize("header", ["Bearer {key}", "bearer {key}", "BEARER {key}",
                                    "Bearer   {key}  "])
def test_the_bearer_scheme_is_case_insensitive_and_spaces_around_the_key_are_ignored(
        shop: Shop, header: str) -> None:
    response = Client().get("/api/v1/balance", headers={"Authorization": header.format(key=shop.key)})
    assert response.status_code == 200


@pytest.mark.parametrize("header", ["Token {key}", "Basic {key}", "{key}", "Bearer", "Bearer   ",
                                    "Bearer{key}", "Bearer- {key}"])
def test_a_key_under_another_scheme_or_no_key_is_refused(shop: Shop, header: str) -> None:
    response = Client().get("/api/v1/balance", headers={"Authorization": header.format(key=shop.key)})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "api_key_invalid"


def test_the_request_principal_is_the_keys_merchant(shop: Shop) -> None:
    request = Request(APIRequestFactory().get("/api/v1/balance", HTTP_AUTHORIZATION=f"Bearer {shop.key}"))
    principal, key = ApiKeyAuthentication().authenticate(request)  # type: ignore[misc]
    assert key == api_key_authenticate(shop.key)
    assert principal.key == key and principal.merchant_id == shop.merchant.pk
    assert principal.is_authenticated and not principal.is_anonymous
    assert str(principal) == f"api key {key.display_prefix}"


def test_the_openapi_document_declares_bearer_keys(db: None) -> None:
    from payments.api.schema import generated_schema

    # built afresh: the document is cached per process, and an earlier test's copy would leave
    # this test unconnected to the code that builds it (mutmut learns which tests reach what)
    generated_schema.cache_clear()
    schemes = generated_schema()["components"]["securitySchemes"]
    assert schemes["apiKey"] == {
        "type": "http", "scheme": "bearer",
        "description": "sk_live_… (secret) or rk_live_… (restricted / read-only) keys"}


def test_a_merchant_can_neither_roll_nor_revoke_another_merchants_key(shop: Shop, other_shop: Shop) -> None:
    victim = api_key_create(merchant_id=shop.merchant.pk, kind="secret")
    for action in ("roll", "revoke"):
        response = other_shop.client().post(f"/api/v1/api_keys/{victim.api_key.public_id}/{action}",
                                            {"expires_in_seconds": 0})
        assert response.status_code == 404, (action, response.content)
    with pytest.raises(ApiKey.DoesNotExist):
        api_key_roll(merchant_id=other_shop.merchant.pk, key_id=victim.api_key.public_id, overlap_seconds=0)
    with pytest.raises(ApiKey.DoesNotExist):
        api_key_revoke(merchant_id=other_shop.merchant.pk, key_id=victim.api_key.public_id)
    untouched = ApiKey.objects.get(pk=victim.api_key.pk)
    assert (untouched.revoked_at, untouched.expires_at) == (None, None)
    assert ApiKey.objects.filter(merchant=other_shop.merchant).count() == 1
    assert api_key_authenticate(victim.plaintext) is not None


def test_an_overlap_of_zero_revokes_and_of_one_second_expires(shop: Shop) -> None:
    now = timezone.now()
    at_once = api_key_create(merchant_id=shop.merchant.pk, kind="secret")
    api_key_roll(merchant_id=shop.merchant.pk, key_id=at_once.api_key.public_id, overlap_seconds=0, now=now)
    revoked = ApiKey.objects.get(pk=at_once.api_key.pk)
    assert (revoked.revoked_at, revoked.expires_at) == (now, None)
    brief = api_key_create(merchant_id=shop.merchant.pk, kind="secret")
    api_key_roll(merchant_id=shop.merchant.pk, key_id=brief.api_key.public_id, overlap_seconds=1, now=now)
    expiring = ApiKey.objects.get(pk=brief.api_key.pk)
    assert (expiring.revoked_at, expiring.expires_at) == (None, now + timedelta(seconds=1))
    assert api_key_authenticate(brief.plaintext, now=now) is not None


def test_a_restricted_key_holding_every_resource_may_create_the_kind_it_covers(shop: Shop) -> None:
    from payments.merchants.permissions import RESOURCES

    writer = api_key_create(merchant_id=shop.merchant.pk, kind="restricted",
                            permissions=dict.fromkeys(RESOURCES, "write")).api_key
    assert api_key_create(merchant_id=shop.merchant.pk, kind="secret", created_by=writer).api_key.kind == "secret"
    reader = api_key_create(merchant_id=shop.merchant.pk, kind="restricted",
                            permissions={**dict.fromkeys(RESOURCES, "read"), "api_keys": "write"}).api_key
    made = api_key_create(merchant_id=shop.merchant.pk, kind="read_only", created_by=reader).api_key
    assert made.kind == "read_only"
    with pytest.raises(PaymentsError) as refused:
        api_key_create(merchant_id=shop.merchant.pk, kind="secret", created_by=reader)
    assert refused.value.code == "permission_denied"


def test_secret_and_read_only_keys_store_no_permission_list_and_no_default_name(shop: Shop) -> None:
    for kind in ("secret", "read_only"):
        key = api_key_create(merchant_id=shop.merchant.pk, kind=kind, permissions={"invoices": "read"}).api_key
        stored = ApiKey.objects.get(pk=key.pk)
        assert (stored.permissions, stored.name) == ({}, ""), kind


def test_a_key_used_again_within_the_resolution_keeps_its_last_use(shop: Shop) -> None:
    now = timezone.now()
    assert api_key_authenticate(shop.key, now=now) is not None
    again = api_key_authenticate(shop.key, now=now + timedelta(seconds=30))
    assert again is not None and again.last_used_at == now
