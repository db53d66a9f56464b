"""The hot protocol routes' shorter middleware chain (config/middleware.py: HotRoutesMiddleware)
answers exactly what the whole chain answers: the same status, headers and body, byte for byte
(but the request id and the timing), for payments and for every refusal, hostile input
included; it writes nothing when it refuses, never answers a 5xx, and it is what serves a
payment (the whole chain is not called)."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client, RequestFactory

from config.middleware import HOT_ROUTES, HotRoutesMiddleware
from hub.purchases.models import Payment, Purchase
from tests.chain_env import ETH, TOKEN, ChainEnv
from tests.hostile.routes import FIELDS, form_bodies, json_bodies
from tests.purchases.helpers import collateralize, funded_user, pay_request

pytestmark = [pytest.mark.chain, pytest.mark.django_db(transaction=True)]

PATH = "/api/hub/payments/purchase"
VARYING = {"Request-Id", "Server-Timing"}
# Django's test client always sends a Cookie header (empty without cookies): an unrelated cookie
# sends a request through the whole chain
WHOLE_CHAIN = {"cookie": "unrelated=1"}


def answer(response) -> tuple[int, dict[str, str], bytes]:  # type: ignore[no-untyped-def]
    headers = {k: v for k, v in response.items() if k not in VARYING}
    body = re.sub(rb'"request_id": "req_[0-9a-f]+"', b'"request_id": "-"', response.content)
    return response.status_code, headers, body


def both(client: Client, method: str, data: bytes, headers: dict[str, str],
         content_type: str = "application/json") -> tuple[int, dict[str, str], bytes]:
    hot = answer(client.generic(method, PATH, data, content_type=content_type, headers=headers))
    whole = answer(client.generic(method, PATH, data, content_type=content_type,
                                  headers={**headers, **WHOLE_CHAIN}))
    assert hot == whole, (hot, whole)
    assert hot[0] < 500, hot
    return hot


def test_a_payment_and_every_refusal_answer_as_through_the_whole_chain(hub_chain: ChainEnv) -> None:
    alice = funded_user(hub_chain, tokens=20 * TOKEN)
    bob = funded_user(hub_chain, wei=ETH // 10)
    collateralize(hub_chain, bob)
    client = Client()
    auth = dict(alice.headers)

    # a payment through each chain: the same headers, the same shape of answer
    answers = []
    for extra in ({}, WHOLE_CHAIN):
        body = json.dumps({"meta": {}, "payments": [
            pay_request(alice, bob.address, token=TOKEN // 10, ptype="PT_CHANNEL")]}).encode()
        response = client.post(PATH, body, content_type="application/json", headers={**auth, **extra})
        assert response.status_code == 200, response.content
        answers.append(response)
    (hot, whole) = answers
    assert set(hot.headers) == set(whole.headers)
    assert hot["X-Frame-Options"] == "DENY" and hot["Content-Type"] == "application/json"
    assert int(hot["Content-Length"]) == len(hot.content)
    first, second = hot.json(), whole.json()
    assert first.keys() == second.keys() == {"purchaseId", "sync"}
    assert [u["update"]["txCount"] for u in first["sync"]["updates"]] == [
        u["update"]["txCount"] - 1 for u in second["sync"]["updates"]]
    assert Payment.objects.count() == 2
    written = (Payment.objects.count(), Purchase.objects.count())

    unsent = json.dumps({"meta": {}, "payments": [
        pay_request(alice, bob.address, token=TOKEN // 10, ptype="PT_CHANNEL")]}).encode()
    refusals = {
        "no signature": (b"{}", {}),
        "a bad signature": (b"{}", {**auth, "x-signature": "0x" + "00" * 65}),
        "not JSON": (b"{", auth),
        "not an object": (b"[]", auth),
        "no payments": (b'{"payments": []}', auth),
        "an unknown type": (json.dumps({"payments": [{"type": "PT_NONE"}]}).encode(), auth),
        "a txCount that does not follow": (unsent.replace(b'"txCount": ', b'"txCount": 1'), auth),
        "a NUL in meta": (b'{"meta": {"a": "\\u0000"}, "payments": []}', auth),
    }
    for label, (data, headers) in refusals.items():
        status, _headers, body = both(client, "POST", data, headers)
        assert status in (400, 403, 409), (label, status, body)
    assert both(client, "GET", b"", auth)[0] == 405
    assert both(client, "POST", b"{}", {**auth, "host": "evil.example"})[0] == 400  # ALLOWED_HOSTS
    for hostile in json_bodies(FIELDS) + form_bodies(FIELDS)[:4]:
        both(client, "POST", hostile.data, auth, hostile.content_type)
    assert (Payment.objects.count(), Purchase.objects.count()) == written


def test_the_shorter_chain_serves_a_hot_route_without_the_whole_chain(hub_chain: ChainEnv) -> None:
    alice = funded_user(hub_chain, tokens=2 * TOKEN)

    def whole_chain(request):  # type: ignore[no-untyped-def]
        raise AssertionError(f"{request.path} went through the whole chain")

    middleware = HotRoutesMiddleware(whole_chain)
    factory = RequestFactory()
    assert PATH in HOT_ROUTES
    response = middleware(factory.post(PATH, b'{"payments": []}', content_type="application/json",
                                       headers=alice.headers))
    assert response.status_code == 400 and json.loads(response.content)["code"] == "bad_args"
    assert response["X-Frame-Options"] == "DENY"
    # anything else takes the whole chain
    for request in (factory.get("/api/hub/config"),
                    factory.post(PATH + "?x=1", b"{}", content_type="application/json"),
                    factory.post(PATH, b"{}", content_type="application/json",
                                 headers={"cookie": "a=b"})):
        with pytest.raises(AssertionError, match="whole chain"):
            middleware(request)
