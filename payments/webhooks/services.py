"""Webhook endpoints and deliveries.

Delivery guarantee: at least once per (event, endpoint) while the endpoint is enabled, retried on
network errors, 5xx, 408 and 429 with exponential backoff for WEBHOOK_RETRY_FOR_SECONDS (3 days)
from the delivery's creation; any other response ends the delivery. Every attempt is logged. The
delivery row is the outbox: the actor and the periodic sweep both only act on rows that are due,
and an attempt first takes a short lease on the row, so two workers never send the same attempt.
The worker's attempt also takes along the other due deliveries to the same endpoint (BATCH_SIZE),
one lease and one outcome write for the lot."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from django.db import models, transaction
from django.utils import timezone

from ops import jobs
from payments import conf
from payments.errors import PaymentsError
from payments.events import catalogue
from payments.events.models import Event
from payments.events.origin import merchant_request
from payments.metadata import metadata_clean
from payments.webhooks import destinations
from payments.webhooks.models import (
    RESPONSE_EXCERPT_CHARS,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from payments.webhooks.serializers import WebhookEndpointSerializer
from payments.webhooks.signing import SIGNATURE_HEADER, new_secret, signature_header

logger = logging.getLogger(__name__)

State = WebhookDelivery.State
RETRYABLE_STATUSES = frozenset({408, 429})
USER_AGENT = "Spoke-Webhooks/1"
# What is kept of a receiver's answer: its status and this much of the body, enough to tell
# "ok" from "invalid signature" and too little to read back another server's page.


# --- the schedule (pure) ---------------------------------------------------------------------


def retry_delay(failed_attempts: int) -> timedelta:
    """Wait after the `failed_attempts`-th failed attempt: FIRST * 2^(n-1), capped at MAX."""
    if failed_attempts < 1:
        raise ValueError("failed_attempts starts at 1")
    seconds = conf.WEBHOOK_FIRST_RETRY_SECONDS * 2 ** min(failed_attempts - 1, 40)
    return timedelta(seconds=min(seconds, conf.WEBHOOK_MAX_RETRY_DELAY_SECONDS))


def next_attempt_at(*, created_at: datetime, failed_attempts: int, now: datetime) -> datetime | None:
    """When to try again after `failed_attempts` failures, or None when past the retry window."""
    when = now + retry_delay(failed_attempts)
    if when > created_at + timedelta(seconds=conf.WEBHOOK_RETRY_FOR_SECONDS):
        return None
    return when


def is_retryable(status: int | None) -> bool:
    """None = a network error or timeout."""
    return status is None or status >= 500 or status in RETRYABLE_STATUSES


def event_body(event: Event) -> bytes:
    return json.dumps(event.as_payload(), separators=(",", ":"), sort_keys=True).encode()


def active_secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    found = [endpoint.secret]
    if (endpoint.previous_secret and endpoint.previous_secret_expires_at
            and endpoint.previous_secret_expires_at > now):
        found.append(endpoint.previous_secret)
    return found


# --- endpoints -------------------------------------------------------------------------------


def _clean_url(url: str) -> str:
    try:
        parts = urlsplit(url or "")
        valid = parts.scheme in ("http", "https") and bool(parts.hostname) and len(url) <= 2000
        httpx.URL(url)
    except (ValueError, httpx.InvalidURL):
        valid = False
    if not valid:
        raise PaymentsError("parameter_invalid", "url is an http(s) URL", param="url")
    destinations.check_url_on_save(url)
    return url


def _clean_event_types(event_types: Any) -> list[str]:
    """A non-empty list of catalogued event types, or ["*"] for all of them."""
    if (not isinstance(event_types, list) or not event_types or len(event_types) > 100
            or not all(isinstance(t, str) and 0 < len(t) <= 64 for t in event_types)):
        raise PaymentsError("parameter_invalid",
                            'enabled_events lists event types, or ["*"] for all',
                            param="enabled_events")
    known = set(catalogue.names())
    for index, name in enumerate(event_types):
        if name != "*" and name not in known:
            raise PaymentsError("parameter_invalid",
                                f"{name!r} is not an event type (GET /api/v1/event_types lists them)",
                                param=f"enabled_events[{index}]")
    return ["*"] if "*" in event_types else sorted(set(event_types))


@transaction.atomic
def endpoint_create(*, merchant_id: int, url: str, event_types: list[str],
                    description: str = "", metadata: dict[str, Any] | None = None) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(
        merchant_id=merchant_id, url=_clean_url(url), event_types=_clean_event_types(event_types),
        description=description[:500], metadata=metadata_clean(metadata), secret=new_secret(),
    )


@transaction.atomic
def endpoint_update(*, merchant_id: int, endpoint_id: str, url: str | None = None,
                    event_types: list[str] | None = None, enabled: bool | None = None,
                    description: str | None = None,
                    metadata: dict[str, Any] | None = None) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.select_for_update().get(merchant_id=merchant_id,
                                                               public_id=endpoint_id)
    if url is not None:
        endpoint.url = _clean_url(url)
    if event_types is not None:
        endpoint.event_types = _clean_event_types(event_types)
    if enabled is not None:
        endpoint.enabled = enabled
        if not enabled:
            _cancel_pending(endpoint)
    if description is not None:
        endpoint.description = description[:500]
    if metadata is not None:
        endpoint.metadata = metadata_clean(metadata)
    endpoint.save()
    return endpoint


def _cancel_pending(endpoint: WebhookEndpoint, now: datetime | None = None) -> int:
    """A disabled (or deleted) endpoint gets no more attempts: its pending deliveries end."""
    return WebhookDelivery.objects.filter(endpoint=endpoint, state=State.PENDING).update(
        state=State.CANCELLED, next_attempt_at=None, completed_at=now or timezone.now())


@transaction.atomic
def endpoint_delete(*, merchant_id: int, endpoint_id: str) -> str:
    """Delete an endpoint with its delivery log; pending deliveries are never attempted again.
    Returns the deleted endpoint's id."""
    endpoint = WebhookEndpoint.objects.select_for_update().get(merchant_id=merchant_id,
                                                               public_id=endpoint_id)
    _cancel_pending(endpoint)
    endpoint.delete()
    return endpoint_id


TEST_EVENT_TYPE = "webhook_endpoint.test"


@transaction.atomic
def endpoint_send_test(*, merchant_id: int, endpoint_id: str,
                       now: datetime | None = None) -> WebhookDelivery:
    """Send a `webhook_endpoint.test` event to this endpoint only (whatever events it picked,
    even when disabled: the merchant asked for it). The event is listed like any other."""
    now = now or timezone.now()
    endpoint = WebhookEndpoint.objects.get(merchant_id=merchant_id, public_id=endpoint_id)
    request_id, request_key = merchant_request()
    event = Event.objects.create(type=TEST_EVENT_TYPE, merchant_id=merchant_id,
                                 data={"object": dict(WebhookEndpointSerializer(endpoint).data)},
                                 api_version=catalogue.API_VERSION, request_id=request_id or "",
                                 request_idempotency_key=request_key or "")
    delivery = WebhookDelivery.objects.create(endpoint=endpoint, event=event, created_at=now,
                                              next_attempt_at=now)
    _send_on_commit([delivery.pk])
    return delivery


@transaction.atomic
def endpoint_rotate_secret(*, merchant_id: int, endpoint_id: str, overlap_seconds: int | None = None,
                           now: datetime | None = None) -> WebhookEndpoint:
    """A new signing secret; the old one keeps signing (a second v1) for `overlap_seconds`."""
    now = now or timezone.now()
    overlap = conf.WEBHOOK_SECRET_ROTATION_OVERLAP_SECONDS if overlap_seconds is None else overlap_seconds
    if overlap < 0 or overlap > 7 * 24 * 3600:
        raise PaymentsError("parameter_invalid", "the overlap is 0..604800 seconds",
                            param="expires_in_seconds")
    endpoint = WebhookEndpoint.objects.select_for_update().get(merchant_id=merchant_id,
                                                               public_id=endpoint_id)
    endpoint.previous_secret = endpoint.secret if overlap else ""
    endpoint.previous_secret_expires_at = now + timedelta(seconds=overlap) if overlap else None
    endpoint.secret = new_secret()
    endpoint.save()
    return endpoint


# --- deliveries ------------------------------------------------------------------------------


def _send_on_commit(delivery_ids: list[int]) -> None:
    if not delivery_ids:
        return

    def send() -> None:
        for delivery_id in delivery_ids:
            jobs.send("deliver_webhook", delivery_id)

    transaction.on_commit(send, robust=True)


def deliveries_create_for_event(*, event: Event, now: datetime) -> list[WebhookDelivery]:
    """One pending delivery per enabled endpoint of the event's merchant that wants its type.
    Inside the caller's transaction; the first attempts are sent after commit."""
    if event.merchant_id is None:
        return []
    endpoints = WebhookEndpoint.objects.filter(merchant_id=event.merchant_id, enabled=True)
    rows = [
        WebhookDelivery(endpoint=e, event=event, created_at=now, next_attempt_at=now)
        for e in endpoints if e.wants(event.type)
    ]
    created = WebhookDelivery.objects.bulk_create(rows)
    _send_on_commit([d.pk for d in created])
    return created


@transaction.atomic
def delivery_redeliver(*, merchant_id: int, delivery_id: str,
                       now: datetime | None = None) -> WebhookDelivery:
    """Send the delivery's event to its endpoint again, as a new delivery with a fresh window."""
    now = now or timezone.now()
    original = WebhookDelivery.objects.select_related("endpoint").get(
        endpoint__merchant_id=merchant_id, public_id=delivery_id
    )
    if not original.endpoint.enabled:
        raise PaymentsError("delivery_not_redeliverable",
                            "the endpoint is disabled: enable it first", param="id")
    delivery = WebhookDelivery.objects.create(
        endpoint=original.endpoint, event_id=original.event_id, created_at=now,
        next_attempt_at=now, redelivery_of=original,
    )
    _send_on_commit([delivery.pk])
    return delivery


# One attempt call also sends what else is due for the same endpoint, up to this many deliveries,
# over the same kept-alive connections: the claim and the outcomes are one query each for the
# lot, not two transactions per delivery. Only the same endpoint, so a slow receiver holds back
# its own deliveries and nobody else's; no new send after BATCH_SECONDS, nor after a send that did
# not succeed (the rest go back to due at once), so a batch ends well inside the lease.
BATCH_SIZE = 25
BATCH_SECONDS = 5.0
# A batch is sent in waves: the first delivery alone (an endpoint that fails gets one request per
# batch, as when they went one by one), then 2, 4, ... up to SENDS_AT_ONCE requests in flight at
# once, each wave after the previous one all succeeded. One by one, the receiver's round trip
# paced the worker thread (25 deliveries to a receiver 100 ms away held it for 2.5 s). Only for a
# receiver slower than CONCURRENT_FROM_MS: one that answers at once is sent to one by one, since
# handing requests to other threads costs more CPU than the wait it saves (webhook bench, local
# receiver: 442 deliveries/s one by one against 348/s in waves).
SENDS_AT_ONCE = 8
CONCURRENT_FROM_MS = 20
_senders = ThreadPoolExecutor(max_workers=16, thread_name_prefix="webhook-send")


class _Registry:
    """The deliveries this worker process holds (claimed, being sent) or has ended (succeeded or
    failed: both final). A queued message for one of them has nothing to do here and needs no
    query: a batch took its delivery along. Bounded; forgetting is safe (the row decides)."""

    def __init__(self, size: int = 20_000) -> None:
        self._lock = threading.Lock()
        self._held: set[int] = set()
        self._ended: OrderedDict[int, None] = OrderedDict()
        self._size = size

    def hold(self, ids: list[int]) -> None:
        with self._lock:
            self._held.update(ids)

    def drop(self, ids: list[int], *, ended: bool) -> None:
        with self._lock:
            self._held.difference_update(ids)
            if ended:
                for delivery_id in ids:
                    self._ended[delivery_id] = None
                while len(self._ended) > self._size:
                    self._ended.popitem(last=False)

    def busy_or_ended(self, delivery_id: int) -> bool:
        with self._lock:
            return delivery_id in self._held or delivery_id in self._ended


registry = _Registry()


def _claim(delivery_id: int, now: datetime,
           batch: int = 1) -> list[tuple[WebhookDelivery, int, datetime | None]]:
    """Take a lease on a due delivery and number the attempt, and (`batch` > 1) on up to
    `batch` - 1 more due deliveries to the same enabled endpoint that no one else holds (rows
    locked by another worker are skipped). Returns (delivery, attempt number, the delivery's
    previous last_attempt_at) with the requested delivery first; empty if it is not due."""
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(of=("self",))
            .select_related("endpoint", "event").filter(pk=delivery_id).first()
        )
        if (delivery is None or delivery.state != State.PENDING or delivery.next_attempt_at is None
                or delivery.next_attempt_at > now):
            return []
        if not delivery.endpoint.enabled and delivery.event.type != TEST_EVENT_TYPE:
            _cancel_pending(delivery.endpoint, now)  # disabled meanwhile (e.g. in the admin)
            return []
        rows = [delivery]
        if batch > 1 and delivery.endpoint.enabled:
            rows += list(
                WebhookDelivery.objects.select_for_update(of=("self",), skip_locked=True)
                .select_related("event").filter(endpoint_id=delivery.endpoint_id, state=State.PENDING,
                                                next_attempt_at__lte=now)
                .exclude(pk=delivery_id).order_by("next_attempt_at", "pk")[:batch - 1]
            )
        previous = [row.last_attempt_at for row in rows]
        lease = now + timedelta(seconds=conf.WEBHOOK_ATTEMPT_LEASE_SECONDS)
        WebhookDelivery.objects.filter(pk__in=[row.pk for row in rows]).update(
            attempt_count=models.F("attempt_count") + 1, last_attempt_at=now, next_attempt_at=lease)
        claimed = []
        for row, before in zip(rows, previous, strict=True):
            row.endpoint = delivery.endpoint
            row.attempt_count += 1
            row.last_attempt_at, row.next_attempt_at = now, lease
            claimed.append((row, row.attempt_count, before))
        return claimed


@dataclass
class _Sent:
    delivery: WebhookDelivery
    number: int
    started_at: datetime
    duration_ms: int
    body: bytes
    header: str
    status: int | None = None
    response_text: str = ""
    error: str = ""
    refused: bool = False

    @property
    def succeeded(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def attempt(self) -> WebhookAttempt:
        return WebhookAttempt(
            delivery=self.delivery, number=self.number, started_at=self.started_at,
            duration_ms=self.duration_ms, request_body=self.body.decode(), signature_header=self.header,
            response_status=self.status, response_body=self.response_text, error=self.error)


def _signed(delivery: WebhookDelivery, number: int, started_at: datetime) -> _Sent:
    """The attempt's body and Spoke-Signature header, not yet sent."""
    body = event_body(delivery.event)
    header = signature_header(body, active_secrets(delivery.endpoint, started_at),
                              int(started_at.timestamp()))
    return _Sent(delivery, number, started_at, 0, body, header)


def _post(sent: _Sent, pinned: destinations.PinnedRequest | Exception,
          client: httpx.Client | None) -> _Sent:
    """One signed POST of the delivery's event to its endpoint (`pinned`: the checked address, or
    why there is none); its outcome is written into `sent`. No database: it may run on any
    thread (httpx.Client is thread-safe, its pool gives each request in flight a connection)."""
    delivery = sent.delivery
    began = time.monotonic()
    try:
        if isinstance(pinned, Exception):
            raise pinned
        with (client or _client_for(pinned)).stream("POST", pinned.url, content=sent.body, extensions=pinned.extensions,
                           timeout=conf.WEBHOOK_TIMEOUT_SECONDS, headers={
            **pinned.headers,
            "Content-Type": "application/json", "User-Agent": USER_AGENT, SIGNATURE_HEADER: sent.header,
            "Spoke-Event-Id": delivery.event.public_id, "Spoke-Delivery-Id": delivery.public_id,
        }) as response:
            sent.status, sent.response_text = response.status_code, _excerpt(response)
    except destinations.DestinationRefused as exc:
        sent.refused, sent.error = True, f"destination_not_public: {exc}"
    except (httpx.HTTPError, OSError, UnicodeError) as exc:
        sent.error = f"{type(exc).__name__}: {exc}"[:200]
    sent.duration_ms = int((time.monotonic() - began) * 1000)
    return sent


def _send_wave(wave: list[_Sent], pinned: destinations.PinnedRequest | Exception,
               client: httpx.Client | None) -> None:
    """The wave's POSTs, all in flight at once (one on this thread, the others on `_senders`)."""
    others = [_senders.submit(_post, sent, pinned, client) for sent in wave[1:]]
    _post(wave[0], pinned, client)
    for future in others:
        future.result()


def _pin(url: str) -> destinations.PinnedRequest | Exception:
    try:
        return destinations.pin(url)
    except (destinations.DestinationRefused, OSError, UnicodeError, httpx.HTTPError) as exc:
        return exc


def delivery_attempt(*, delivery_id: int, now: datetime | None = None,
                     client: httpx.Client | None = None, batch: int = 1) -> WebhookDelivery | None:
    """Make one attempt if the delivery is due at `now`, and record its outcome. Returns the
    delivery (None if it does not exist). Safe to call twice: a second call finds it not due.

    With `batch` > 1 (the worker's actor), the same call also makes one attempt of up to
    `batch` - 1 other due deliveries to the same endpoint (see BATCH_SIZE), each signed and logged
    as its own attempt; their queued messages then find them held or ended (`registry`)."""
    fixed = now
    now = now or timezone.now()
    claimed = _claim(delivery_id, now, batch)
    if not claimed:
        return WebhookDelivery.objects.filter(pk=delivery_id).first()
    ids = [row.pk for row, _n, _p in claimed]
    registry.hold(ids)
    sent: list[_Sent] = []
    try:
        pinned = _pin(claimed[0][0].endpoint.url)  # once a batch: one endpoint, one check
        http = client or (_client_for(pinned) if not isinstance(pinned, Exception) else None)
        began, size = time.monotonic(), 1
        wave: list[_Sent] = []
        while len(sent) < len(claimed):
            if wave and (not all(s.succeeded for s in wave) or time.monotonic() - began > BATCH_SECONDS):
                break
            wave = [_signed(row, number, fixed or timezone.now())
                    for row, number, _previous in claimed[len(sent):len(sent) + size]]
            _send_wave(wave, pinned, http)
            sent += wave
            slow = max(s.duration_ms for s in wave) >= CONCURRENT_FROM_MS
            size = min(size * 2, SENDS_AT_ONCE) if slow else 1
        lead = _record(sent, now=fixed or timezone.now())
        unsent = claimed[len(sent):]
        if unsent:
            _release([(row.pk, previous) for row, _n, previous in unsent], now)
    finally:
        ended = [s.delivery.pk for s in sent if s.delivery.state != State.PENDING]
        registry.drop(ended, ended=True)
        registry.drop([pk for pk in ids if pk not in ended], ended=False)
    # The others still pending (due again, or waiting for a retry) get a message of their own:
    # theirs may have been passed over while the batch held them. It schedules the retry.
    for pk in ids[1:]:
        if pk not in ended:
            jobs.send("deliver_webhook", pk)
    return lead


@transaction.atomic
def _record(sent: list[_Sent], *, now: datetime) -> WebhookDelivery:
    """Log every attempt and record its outcome (a delivery ended meanwhile, e.g. cancelled,
    keeps its state). Returns the first delivery as it now stands."""
    WebhookAttempt.objects.bulk_create([s.attempt() for s in sent])
    succeeded = [s for s in sent if s.succeeded]
    if succeeded:
        updated = WebhookDelivery.objects.filter(
            pk__in=[s.delivery.pk for s in succeeded], state=State.PENDING,
        ).update(state=State.SUCCEEDED, next_attempt_at=None, completed_at=now)
        if updated == len(succeeded):
            for s in succeeded:
                s.delivery.state, s.delivery.next_attempt_at, s.delivery.completed_at = \
                    State.SUCCEEDED, None, now
    for s in sent:
        if s.succeeded:
            continue
        delivery = WebhookDelivery.objects.select_for_update().get(pk=s.delivery.pk)
        if delivery.state != State.PENDING:
            continue
        if is_retryable(s.status) and not s.refused:
            delivery.next_attempt_at = next_attempt_at(
                created_at=delivery.created_at, failed_attempts=s.number, now=s.started_at)
            if delivery.next_attempt_at is None:
                delivery.state, delivery.completed_at = State.FAILED, now
        else:
            delivery.state, delivery.next_attempt_at, delivery.completed_at = State.FAILED, None, now
        delivery.save(update_fields=["state", "next_attempt_at", "completed_at"])
        s.delivery.state, s.delivery.next_attempt_at, s.delivery.completed_at = \
            delivery.state, delivery.next_attempt_at, delivery.completed_at
    return WebhookDelivery.objects.get(pk=sent[0].delivery.pk)


def _release(unsent: list[tuple[int, datetime | None]], now: datetime) -> None:
    """Claimed deliveries of a batch that ended before their turn: due again now, their attempt
    number and last attempt time as before the claim."""
    with transaction.atomic():
        for delivery_id, previous in unsent:
            WebhookDelivery.objects.filter(pk=delivery_id, state=State.PENDING).update(
                attempt_count=models.F("attempt_count") - 1, last_attempt_at=previous,
                next_attempt_at=now)


_clients = threading.local()
CLIENTS_PER_THREAD = 32


def _client_for(pinned: destinations.PinnedRequest) -> httpx.Client:
    """The worker thread's client for this destination, kept between deliveries: building one
    (its TLS context) costs tens of milliseconds, more than the delivery itself, and a kept-alive
    connection saves a handshake per delivery to the same receiver. One client per checked
    address *and* host name, so a connection (and its TLS session) made for one name is never
    used for another; the least recently used are closed past CLIENTS_PER_THREAD. No proxies from
    the environment: the connection must go to the address that was checked."""
    cache: OrderedDict[tuple[str, str, int | None, str, str], httpx.Client] | None = getattr(
        _clients, "cache", None)
    if cache is None:
        cache = _clients.cache = OrderedDict()
    key = (pinned.url.scheme, pinned.url.host, pinned.url.port, pinned.headers.get("Host", ""),
           pinned.extensions.get("sni_hostname", ""))
    found = cache.get(key)
    if found is None or found.is_closed:
        found = cache[key] = httpx.Client(follow_redirects=False, trust_env=False)
        while len(cache) > CLIENTS_PER_THREAD:
            cache.popitem(last=False)[1].close()
    cache.move_to_end(key)
    return found


def _excerpt(response: httpx.Response) -> str:
    """The first RESPONSE_EXCERPT_CHARS characters of the body, reading no more than needed."""
    head = b""
    for chunk in response.iter_bytes():
        head += chunk
        if len(head) >= RESPONSE_EXCERPT_CHARS * 4:
            break
    # NUL cannot be stored in text: a receiver that answers with one must not wedge the delivery
    return head.decode("utf-8", "replace").replace("\x00", "\ufffd")[:RESPONSE_EXCERPT_CHARS]


def deliveries_due(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    now = now or timezone.now()
    return list(
        WebhookDelivery.objects.filter(state=State.PENDING, next_attempt_at__lte=now)
        .filter(models.Q(endpoint__enabled=True) | models.Q(event__type=TEST_EVENT_TYPE))
        .order_by("next_attempt_at").values_list("id", flat=True)[:limit]
    )
