"""Operator pages for the outbox and the ingester: they render, are read-only, and their actions
go through the services."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from hub.chain.models import ChainEvent, ChainTransaction, ChainTransactionAttempt

pytestmark = pytest.mark.django_db


@pytest.fixture
def confirmed_tx() -> ChainTransaction:
    tx = ChainTransaction.objects.create(
        purpose="admin-test", idempotency_key="admin-1", sender="0x" + "1" * 40,
        to="0x" + "2" * 40, value=10**30, nonce=0, state=ChainTransaction.State.CONFIRMED,
        tx_hash="0x" + "ab" * 32, completed_at=timezone.now(),
    )
    ChainTransactionAttempt.objects.create(
        transaction=tx, nonce=0, tx_hash="0x" + "ab" * 32, raw_tx="0x02", gas_limit=21_000,
        max_fee_per_gas=3, max_priority_fee_per_gas=1,
    )
    return tx


def test_transaction_pages_render_with_attempts(admin_client: Client, confirmed_tx: ChainTransaction) -> None:
    listing = admin_client.get("/admin/hub/chaintransaction/?state__exact=confirmed")
    assert listing.status_code == 200 and b"admin-test" in listing.content
    detail = admin_client.get(f"/admin/hub/chaintransaction/{confirmed_tx.pk}/change/")
    assert detail.status_code == 200
    assert ("0x" + "ab" * 32).encode() in detail.content  # the attempt inline
    assert admin_client.get("/admin/hub/chaintransaction/add/").status_code == 403


def test_actions_on_a_finished_transaction_change_nothing(
    admin_client: Client, confirmed_tx: ChainTransaction,
) -> None:
    for action in ("resubmit_with_fee_bump", "cancel"):
        response = admin_client.post(
            "/admin/hub/chaintransaction/",
            {"action": action, "_selected_action": [confirmed_tx.pk]}, follow=True,
        )
        assert response.status_code == 200
        assert b"now confirmed" in response.content
    confirmed_tx.refresh_from_db()
    assert confirmed_tx.state == ChainTransaction.State.CONFIRMED
    assert confirmed_tx.attempts.count() == 1


def test_event_pages_are_read_only(admin_client: Client, settings: Any) -> None:
    event = ChainEvent.objects.create(
        contract="0x" + "3" * 40, name="DidUpdateChannel", block_number=5, block_hash="0x" + "c" * 64,
        tx_hash="0x" + "d" * 64, tx_index=0, log_index=1, args={"user": "0x" + "4" * 40},
        state=ChainEvent.State.IGNORED,
    )
    assert admin_client.get("/admin/hub/chainevent/").status_code == 200
    detail = admin_client.get(f"/admin/hub/chainevent/{event.pk}/change/")
    assert detail.status_code == 200 and b"DidUpdateChannel" in detail.content
    assert admin_client.post(f"/admin/hub/chainevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    admin_client.post("/admin/hub/chainevent/", {"action": "redispatch", "_selected_action": [event.pk]})
    event.refresh_from_db()
    assert event.state == ChainEvent.State.NEW
