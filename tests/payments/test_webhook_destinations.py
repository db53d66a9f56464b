"""Webhooks go to public internet addresses only (server-side request forgery, issue 14): refused
when an endpoint is saved (API, dashboard) and again at connect time, where the request goes to
the address that was checked; only a short excerpt of the answer is kept and shown."""

from __future__ import annotations

import ipaddress
import socket
import threading
from typing import Any

import pytest
from django.test import Client

from payments import conf
from payments.errors import PaymentsError
from payments.events.services import event_record
from payments.webhooks import destinations
from payments.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from payments.webhooks.services import RESPONSE_EXCERPT_CHARS, delivery_attempt, endpoint_create
from tests.dashboard.helpers import make_team, post_form, sign_in
from tests.payments.conftest import Shop
from tests.payments.test_webhooks import Receiver, free_port

State = WebhookDelivery.State

PRIVATE_URLS = [
    "http://127.0.0.1:8545/", "http://localhost/hooks", "http://LOCALHOST./hooks",
    "http://api.localhost/hooks", "http://[::1]/", "http://0.0.0.0:8000/",
    "http://169.254.169.254/latest/meta-data/", "http://10.1.2.3/", "http://172.16.0.1/",
    "http://192.168.1.1/", "http://100.64.0.1/", "http://[fd00::1]/", "http://[fe80::1]/",
    "http://224.0.0.1/", "http://[::ffff:127.0.0.1]/", "http://[::ffff:169.254.169.254]/",
    "http://2130706433/", "http://0x7f.1/", "https://[64:ff9b::a9fe:a9fe]/",
    "http://[2002:7f00:1::]/",
]


@pytest.fixture
def receiver() -> Any:
    r = Receiver(free_port())
    try:
        yield r
    finally:
        r.stop()


def delivery_to(shop: Shop, url: str) -> WebhookDelivery:
    """An endpoint whose URL was stored before the check existed (or whose host has since moved)."""
    endpoint = endpoint_create(merchant_id=shop.merchant.pk, url="https://hooks.example.com/h",
                               event_types=["*"])
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(url=url)
    event_record(type="invoice.paid", merchant_id=shop.merchant.pk, data={"object": {}})
    return WebhookDelivery.objects.get(endpoint=endpoint)


@pytest.mark.parametrize("url", PRIVATE_URLS)
def test_an_endpoint_on_a_non_public_address_is_refused(shop: Shop, url: str) -> None:
    with pytest.raises(PaymentsError) as refused:
        endpoint_create(merchant_id=shop.merchant.pk, url=url, event_types=["*"])
    assert (refused.value.code, refused.value.param) == ("url_not_public", "url")
    # through the API: a 400 (some of these the URL syntax check already refuses)
    response = shop.client().post("/api/v1/webhook_endpoints", {"url": url, "enabled_events": ["*"]})
    assert response.status_code == 400, (url, response.content)
    assert response.json()["error"]["code"] in ("url_not_public", "parameter_invalid")
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize("url", ["http://127.0.0.1:8545/", "http://localhost:8000/hooks", "http://[::1]/h",
                                 "http://169.254.169.254/latest/meta-data/", "http://10.1.2.3/h"])
def test_the_api_names_the_refusal(shop: Shop, url: str) -> None:
    response = shop.client().post("/api/v1/webhook_endpoints", {"url": url, "enabled_events": ["*"]})
    assert response.status_code == 400
    assert (response.json()["error"]["code"], response.json()["error"]["param"]) == ("url_not_public", "url")


def test_an_endpoint_cannot_be_moved_to_a_private_address(shop: Shop) -> None:
    api = shop.client()
    created = api.post("/api/v1/webhook_endpoints", {"url": "https://hooks.example.com/h",
                                                     "enabled_events": ["*"]})
    assert created.status_code == 201, created.content
    moved = api.post(f"/api/v1/webhook_endpoints/{created.json()['id']}",
                     {"url": "http://169.254.169.254/latest/meta-data/"})
    assert moved.status_code == 400 and moved.json()["error"]["code"] == "url_not_public"
    assert WebhookEndpoint.objects.get().url == "https://hooks.example.com/h"


def test_a_name_under_invalid_is_refused_with_a_clear_code(shop: Shop) -> None:
    response = shop.client().post("/api/v1/webhook_endpoints", {"url": "https://hooks.shop.invalid/h",
                                                                "enabled_events": ["*"]})
    assert response.status_code == 400, response.content
    assert (response.json()["error"]["code"], response.json()["error"]["param"]) == ("url_unresolvable", "url")
    assert not WebhookEndpoint.objects.exists()


def test_a_name_whose_dns_does_not_answer_is_refused_without_waiting_for_it(
    shop: Shop, monkeypatch: pytest.MonkeyPatch, settings: Any,
) -> None:
    """The DNS server never answers: the save answers 400 within its bound while the lookup is
    still hanging (in a resolver thread, not the request's)."""
    settings.WEBHOOKS_RESOLVE_TIMEOUT_MS = 200
    real = socket.getaddrinfo
    answer, asked = threading.Event(), threading.Event()

    def silent_dns(host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "slow.example.com":
            asked.set()
            answer.wait(timeout=60)
            raise socket.gaierror("timed out")
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", silent_dns)
    try:
        response = shop.client().post("/api/v1/webhook_endpoints", {"url": "https://slow.example.com/h",
                                                                    "enabled_events": ["*"]})
        assert asked.is_set() and not answer.is_set()  # answered while the lookup still hangs
        assert response.status_code == 400, response.content
        assert response.json()["error"]["code"] == "url_unresolvable"
        assert not WebhookEndpoint.objects.exists()
    finally:
        answer.set()


def test_the_dashboard_form_refuses_a_loopback_endpoint(db: Any) -> None:
    team = make_team("Hook shop")
    client = Client()
    sign_in(client, team.owner)
    response = post_form(client, "/dashboard/webhooks/", "/dashboard/webhooks/new/",
                         {"url": "http://127.0.0.1:8545/", "event_types": "*"})
    assert response.status_code == 400
    assert "not a public internet address" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_a_delivery_to_a_private_address_is_refused_at_connect_time_and_not_retried(
    shop: Shop, receiver: Receiver,
) -> None:
    receiver.start()
    delivery = delivery_to(shop, receiver.url.replace("127.0.0.1", "localhost"))
    delivery = delivery_attempt(delivery_id=delivery.pk, now=delivery.created_at)
    assert receiver.received == []
    assert (delivery.state, delivery.next_attempt_at) == (State.FAILED, None)
    attempt = WebhookAttempt.objects.get(delivery=delivery)
    assert attempt.response_status is None and attempt.error.startswith("destination_not_public")
    assert "127.0.0.1" not in attempt.error


def test_a_host_that_resolves_to_a_public_and_a_private_address_is_refused(
    shop: Shop, receiver: Receiver, monkeypatch: pytest.MonkeyPatch,
) -> None:
    receiver.start()
    real = socket.getaddrinfo

    def split_horizon(host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "mixed.example.com":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
                    (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", split_horizon)
    delivery = delivery_to(shop, f"http://mixed.example.com:{receiver.port}/hooks")
    delivery = delivery_attempt(delivery_id=delivery.pk, now=delivery.created_at)
    assert receiver.received == [] and delivery.state == State.FAILED


def test_the_request_goes_to_the_checked_address_even_if_the_name_rebinds(
    shop: Shop, receiver: Receiver, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """DNS answers public for the check and loopback afterwards: nothing reaches loopback."""
    receiver.start()
    monkeypatch.setattr(conf, "WEBHOOK_TIMEOUT_SECONDS", 0.5)
    real = socket.getaddrinfo
    answers = iter(["192.0.0.9", "127.0.0.1", "127.0.0.1", "127.0.0.1"])  # 192.0.0.9: global

    def rebinding(host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "rebind.example.com":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]
        return real(host, port, *args, **kwargs)

    assert destinations.is_public_address(ipaddress.ip_address("192.0.0.9"))
    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    delivery = delivery_to(shop, f"http://rebind.example.com:{receiver.port}/hooks")
    delivery = delivery_attempt(delivery_id=delivery.pk, now=delivery.created_at)
    assert receiver.received == []
    assert delivery.state == State.PENDING  # a network error: retried later, checked again
    assert WebhookAttempt.objects.get(delivery=delivery).response_status is None


def test_a_pinned_https_request_keeps_the_host_name_for_sni_and_the_host_header(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, port, *a, **k: [
        (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("2606:2800:220:1::1", port, 0, 0))])
    pinned = destinations.pin("https://Hooks.Example.com:8443/in?x=1")
    assert str(pinned.url) == "https://[2606:2800:220:1::1]:8443/in?x=1"
    assert pinned.headers == {"Host": "hooks.example.com:8443"}
    assert pinned.extensions == {"sni_hostname": "hooks.example.com"}


def test_with_private_destinations_allowed_the_receiver_gets_its_host_header_and_only_an_excerpt_is_kept(
    shop: Shop, receiver: Receiver, settings: Any,
) -> None:
    settings.WEBHOOKS_ALLOW_PRIVATE_DESTINATIONS = True
    receiver.answer = b"internal-secret-" * 200
    receiver.start()
    url = f"http://localhost:{receiver.port}/hooks"
    created = shop.client().post("/api/v1/webhook_endpoints", {"url": url, "enabled_events": ["*"]})
    assert created.status_code == 201, created.content
    event_record(type="invoice.paid", merchant_id=shop.merchant.pk, data={"object": {}})
    delivery = WebhookDelivery.objects.get()
    assert delivery_attempt(delivery_id=delivery.pk, now=delivery.created_at).state == State.SUCCEEDED
    (headers, _), = receiver.received
    assert headers["Host"] == f"localhost:{receiver.port}"
    stored = WebhookAttempt.objects.get(delivery=delivery).response_body
    assert stored == receiver.answer.decode()[:RESPONSE_EXCERPT_CHARS] and len(stored) == 64
    shown = shop.client().get(f"/api/v1/webhook_deliveries/{delivery.public_id}").json()
    assert shown["attempts"][0]["response_body"] == stored


def test_old_attempts_show_no_more_than_the_excerpt(shop: Shop, receiver: Receiver, settings: Any) -> None:
    settings.WEBHOOKS_ALLOW_PRIVATE_DESTINATIONS = True
    receiver.start()
    delivery = delivery_to(shop, receiver.url)
    delivery_attempt(delivery_id=delivery.pk, now=delivery.created_at)
    WebhookAttempt.objects.filter(delivery=delivery).update(response_body="x" * 2000)
    shown = shop.client().get(f"/api/v1/webhook_deliveries/{delivery.public_id}").json()
    assert shown["attempts"][0]["response_body"] == "x" * RESPONSE_EXCERPT_CHARS


@pytest.mark.parametrize(("address", "public"), [
    ("93.184.216.34", True), ("2606:2800:220:1::1", True), ("127.0.0.2", False), ("0.0.0.0", False),
    ("169.254.169.254", False), ("10.0.0.1", False), ("100.64.0.1", False), ("198.18.0.1", False),
    ("240.0.0.1", False), ("255.255.255.255", False), ("239.1.1.1", False), ("::", False),
    ("::1", False), ("fc00::1", False), ("fe80::1", False), ("ff02::1", False),
    ("::ffff:10.0.0.1", False), ("::ffff:93.184.216.34", True), ("64:ff9b::7f00:1", False),
    ("2002:a00:1::", False), ("2001:db8::1", False), ("fec0::1", False),
])
def test_which_addresses_are_public(address: str, public: bool) -> None:
    assert destinations.is_public_address(ipaddress.ip_address(address)) is public


def test_the_operator_admin_cannot_point_an_endpoint_at_a_private_address(shop: Shop) -> None:
    from django.contrib.auth import get_user_model

    endpoint = endpoint_create(merchant_id=shop.merchant.pk, url="https://hooks.example.com/h", event_types=["*"])
    operator = get_user_model().objects.create_superuser("op", "op@example.com", "pw-long-enough-1")
    client = Client()
    client.force_login(operator)
    response = client.post(f"/admin/payments/webhookendpoint/{endpoint.pk}/change/", {
        "url": "http://169.254.169.254/latest/meta-data/", "description": "", "enabled": "on",
        "event_types": '["*"]', "metadata": "{}"})
    assert response.status_code == 200 and "not a public internet address" in response.content.decode()
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).url == "https://hooks.example.com/h"
    assert client.get("/admin/payments/webhookendpoint/add/").status_code == 403
    disabled = client.post(f"/admin/payments/webhookendpoint/{endpoint.pk}/change/", {
        "url": "https://hooks.example.com/other", "description": "", "event_types": '["*"]',
        "metadata": "{}"})
    assert disabled.status_code == 302, disabled.content.decode()[-2000:]
    saved = WebhookEndpoint.objects.get(pk=endpoint.pk)
    assert (saved.url, saved.enabled, saved.secret) == ("https://hooks.example.com/other", False, endpoint.secret)
