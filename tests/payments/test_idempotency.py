"""Idempotency-Key: 100 keys x 10 concurrent replays make 100 invoices and identical replays."""

from __future__ import annotations

import random
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connections

from payments import conf
from payments.invoices.models import Invoice
from tests.payments.conftest import Api, Shop


@pytest.mark.django_db(transaction=True)
def test_concurrent_replays_execute_once_and_replay_byte_identical(
    shop: Shop, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(conf, "API_RATE_PER_SECOND", 100_000.0)
    monkeypatch.setattr(conf, "API_RATE_BURST", 100_000)
    keys = [f"order-{n}" for n in range(100)]
    jobs = [k for k in keys for _ in range(10)]
    random.Random(7).shuffle(jobs)

    def send(key: str) -> tuple[str, int, bytes]:
        try:
            n = int(key.split("-")[1])
            response = Api(shop.key).post("/api/v1/invoices", {"amount": str(1000 + n), "asset": "wei",
                                                               "order_id": key}, idempotency_key=key)
            return key, response.status_code, response.content
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=24) as pool:
        results = list(pool.map(send, jobs))

    by_key: dict[str, list[tuple[int, bytes]]] = defaultdict(list)
    for key, status, body in results:
        by_key[key].append((status, body))
    assert Invoice.objects.filter(merchant=shop.merchant).count() == 100
    for key, answers in by_key.items():
        assert len(answers) == 10
        assert {status for status, _ in answers} == {201}, (key, answers[:2])
        assert len({body for _, body in answers}) == 1, key
    assert sorted(Invoice.objects.values_list("order_id", flat=True)) == sorted(keys)


def test_the_same_key_with_another_body_is_a_409_conflict(shop: Shop) -> None:
    api = shop.client()
    first = api.post("/api/v1/invoices", {"amount": "10", "asset": "wei"}, idempotency_key="k1")
    assert first.status_code == 201
    again = api.post("/api/v1/invoices", {"asset": "wei", "amount": "10"}, idempotency_key="k1")
    assert again.status_code == 201 and again.content == first.content
    assert again["Idempotent-Replayed"] == "true"
    other = api.post("/api/v1/invoices", {"amount": "11", "asset": "wei"}, idempotency_key="k1")
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_conflict"
    assert Invoice.objects.count() == 1


def test_errors_are_replayed_too_but_keys_are_per_api_key(shop: Shop, make_shop: Any) -> None:
    api = shop.client()
    refused = api.post("/api/v1/settlements", {"asset": "wei"}, idempotency_key="s1")
    assert refused.status_code == 409
    assert api.post("/api/v1/settlements", {"asset": "wei"}, idempotency_key="s1").content == refused.content
    other = make_shop("other")
    assert other.client().post("/api/v1/invoices", {"amount": "1", "asset": "wei"},
                               idempotency_key="s1").status_code == 201
