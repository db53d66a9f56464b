"""Idempotent POSTs (threat L4), Stripe's semantics with brandur's "atomic phases":

1. `idempotency_begin` inserts the (api key, Idempotency-Key) row in its own committed
   transaction: the first request owns it. A duplicate waits until the owner finishes and gets
   the stored response, byte for byte; a different request under the same key gets 409
   `idempotency_conflict`; still running after IDEMPOTENCY_WAIT_SECONDS, 409
   `idempotency_in_progress`.
2. The owner runs the endpoint inside one database transaction that also stores its response
   (`idempotency_complete`), so effects and the record commit together, or neither does.
3. A server error rolls everything back and deletes the record: a retry runs again (nothing
   happened). Responses are replayed for IDEMPOTENCY_TTL_SECONDS; older keys start over."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from ops import jsonbody
from payments import conf
from payments.errors import PaymentsError
from payments.idempotency.models import IdempotencyRecord

State = IdempotencyRecord.State
MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class Replay:
    status: int
    body: bytes
    content_type: str


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    try:  # the same JSON with other whitespace or key order is the same request
        decoded = jsonbody.loads(body) if body.strip() else None
        canonical = json.dumps(decoded, sort_keys=True, separators=(",", ":")).encode()
    except jsonbody.JsonBodyError:
        canonical = body  # refused later by the parser; the raw bytes still name the request
    return hashlib.sha256(f"{method} {path}\n".encode() + canonical).hexdigest()


def _replay_or_conflict(record: IdempotencyRecord, fingerprint: str) -> Replay | None:
    if record.request_fingerprint != fingerprint:
        raise PaymentsError("idempotency_conflict",
                            "this Idempotency-Key was used with another request", param="Idempotency-Key")
    if record.state == State.DONE:
        return Replay(record.response_status or 200, bytes(record.response_body or b""),
                      record.response_content_type)
    return None


def idempotency_begin(*, api_key_id: int, key: str, fingerprint: str) -> IdempotencyRecord | Replay:
    """Own the key (returns the record) or return the stored response to replay."""
    # the OpenAPI pattern (payments/api/schema.py): printable ASCII, as HTTP headers carry it
    if not key or len(key) > MAX_KEY_LENGTH or not all(" " <= c <= "~" for c in key):
        raise PaymentsError("idempotency_key_invalid",
                            "Idempotency-Key is 1..255 printable ASCII characters",
                            param="Idempotency-Key")
    deadline = time.monotonic() + conf.IDEMPOTENCY_WAIT_SECONDS
    while True:
        now = timezone.now()
        try:
            with transaction.atomic():
                return IdempotencyRecord.objects.create(
                    api_key_id=api_key_id, key=key, request_fingerprint=fingerprint, locked_at=now
                )
        except IntegrityError:
            pass
        with transaction.atomic():
            # Blocks while the owner's transaction (which locked the row) is running.
            record = (IdempotencyRecord.objects.select_for_update()
                      .filter(api_key_id=api_key_id, key=key).first())
            if record is None:
                continue  # deleted after a server error: try to own it
            expired = record.created_at <= now - timedelta(seconds=conf.IDEMPOTENCY_TTL_SECONDS)
            stale = (record.state == State.IN_PROGRESS and
                     record.locked_at <= now - timedelta(seconds=conf.IDEMPOTENCY_STALE_SECONDS))
            if expired or stale:
                record.delete()
                continue
            replay = _replay_or_conflict(record, fingerprint)
            if replay is not None:
                return replay
        if time.monotonic() >= deadline:
            raise PaymentsError("idempotency_in_progress",
                                "a request with this Idempotency-Key is still running; retry later",
                                param="Idempotency-Key")
        time.sleep(0.02)


def idempotency_lock(record: IdempotencyRecord) -> bool:
    """Inside the work's transaction: lock the owned record. False if it was taken over."""
    return IdempotencyRecord.objects.select_for_update().filter(
        pk=record.pk, state=State.IN_PROGRESS, locked_at=record.locked_at
    ).exists()


def idempotency_complete(record: IdempotencyRecord, *, status: int, body: bytes, content_type: str) -> None:
    """Inside the work's transaction: store the response to replay."""
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        state=State.DONE, response_status=status, response_body=body, response_content_type=content_type
    )


def idempotency_abandon(record: IdempotencyRecord) -> None:
    """After a rolled-back server error: forget the key so a retry runs again."""
    IdempotencyRecord.objects.filter(pk=record.pk, state=State.IN_PROGRESS).delete()


def idempotency_purge(*, older_than_seconds: int | None = None) -> int:
    ttl = conf.IDEMPOTENCY_TTL_SECONDS if older_than_seconds is None else older_than_seconds
    cutoff = timezone.now() - timedelta(seconds=ttl)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
