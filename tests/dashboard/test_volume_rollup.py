"""The overview's rollup (payments_volumebucket: new payments folded in behind a watermark,
changes kept by the database's triggers) with the payments after its watermark is always the sum
of what it stands for: after any sequence of payment writes (new, moved in time, completed,
refunded, deleted), rate writes (new, backdated, tied, corrected, deleted) and folds, it equals
the sums recomputed from the payments and the rates, and the fiat read one payment at a time in
Python. A fold never skips a payment whose transaction was still running."""

from __future__ import annotations

import io
import random
import secrets
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.utils import timezone

from hub.purchases.models import Payment, Purchase
from hub.rates.models import ExchangeRate
from payments.dashboard.models import VolumeBucket
from payments.dashboard.money import Money, rate_at
from payments.dashboard.volume import volume_discrepancies, volume_fold, volume_rebuild

pytestmark = pytest.mark.django_db

RECIPIENTS = ["0x" + c * 40 for c in "abc"]


def python_truth() -> dict[str, tuple[int, int, int, Decimal]]:
    """Per recipient: count, wei, token and fiat of its completed payments, one by one."""
    found: dict[str, tuple[int, int, int, Decimal]] = {}
    for p in Payment.objects.filter(status=Payment.Status.COMPLETED):
        rate, _at = rate_at(p.created_at)
        if rate is not None:  # the rate as the dashboard's SQL reads it: numeric(40, 18)
            rate = rate.quantize(Decimal(10) ** -18)
        fiat = (Money(int(p.amount_token), "token").fiat or Decimal(0)) + (
            Money(int(p.amount_wei), "wei", rate).fiat or Decimal(0))
        n, wei, token, total = found.get(p.recipient, (0, 0, 0, Decimal(0)))
        found[p.recipient] = (n + 1, wei + int(p.amount_wei), token + int(p.amount_token), total + fiat)
    return found


def rollup_totals() -> dict[str, tuple[int, int, int, Decimal]]:
    """The rollup alone, once every payment is folded in."""
    assert volume_fold(wait_seconds=5) is not None
    found: dict[str, tuple[int, int, int, Decimal]] = {}
    for b in VolumeBucket.objects.all():
        n, wei, token, total = found.get(b.recipient, (0, 0, 0, Decimal(0)))
        found[b.recipient] = (n + b.payments, wei + int(b.wei), token + int(b.token),
                              total + Decimal(int(b.token_cents) + int(b.wei_cents)) / 100)
    return {k: v for k, v in found.items() if v != (0, 0, 0, Decimal(0))}


def new_payment(rng: random.Random, at) -> Payment:  # type: ignore[no-untyped-def]
    purchase = Purchase.objects.create(id=secrets.token_hex(16), sender="0x" + "11" * 20, meta={})
    wei, token = (rng.randrange(1, 10**21), 0) if rng.random() < 0.6 else (0, rng.randrange(1, 10**21))
    payment = Payment.objects.create(
        purchase=purchase, sender="0x" + "11" * 20, recipient=rng.choice(RECIPIENTS), amount_wei=wei,
        amount_token=token, type=Payment.Type.CUSTODIAL,
        status=rng.choice([Payment.Status.COMPLETED] * 3 + [Payment.Status.PENDING]))
    Payment.objects.filter(pk=payment.pk).update(created_at=at)
    return payment


@pytest.mark.parametrize("seed", range(4))
def test_the_rollup_equals_the_recomputed_truth_after_random_writes(seed: int) -> None:
    rng = random.Random(seed)
    now = timezone.now()
    at = lambda: now - timedelta(seconds=rng.randrange(0, 5 * 86400))  # noqa: E731
    payments: list[Payment] = []
    for step in range(60):
        action = rng.random()
        if action < 0.35 or not payments:
            payments.append(new_payment(rng, at()))
        elif action < 0.5:  # a rate, often backdated among the payments, sometimes tied
            when = rng.choice([at(), now, *(p.created_at for p in payments[-3:])])
            ExchangeRate.objects.create(rate=rng.choice([f"{rng.randrange(1000, 4000)}.{rng.randrange(10**19)}",
                                                         "2000", "NaN", "1e3"]),
                                        source="operator", retrieved_at=when)
        elif action < 0.6:
            Payment.objects.filter(pk=rng.choice(payments).pk).update(created_at=at())
        elif action < 0.7:
            Payment.objects.filter(pk=rng.choice(payments).pk).update(
                status=rng.choice(list(Payment.Status.values)))
        elif action < 0.75:  # a statement over many rows at once
            Payment.objects.filter(recipient=rng.choice(RECIPIENTS)).update(amount_token=7 * 10**17)
        elif action < 0.8:
            victim = payments.pop(rng.randrange(len(payments)))
            Payment.objects.filter(pk=victim.pk).delete()
        elif action < 0.9 and ExchangeRate.objects.exists():
            rate = ExchangeRate.objects.order_by("?").first()
            assert rate is not None
            if rng.random() < 0.5:
                ExchangeRate.objects.filter(pk=rate.pk).update(rate=str(rng.randrange(100, 5000)))
            else:
                ExchangeRate.objects.filter(pk=rate.pk).update(retrieved_at=at())
        elif ExchangeRate.objects.exists():
            ExchangeRate.objects.filter(pk=ExchangeRate.objects.order_by("?").first().pk).delete()  # type: ignore[union-attr]
        if rng.random() < 0.2:  # the later writes change folded payments and the tail alike
            assert volume_fold(wait_seconds=5) is not None
        if step % 10 == 9:
            assert volume_discrepancies() == {}
    assert volume_discrepancies() == {}
    assert rollup_totals() == python_truth()
    assert sum(v[0] for v in python_truth().values()) > 0


def test_a_damaged_rollup_is_found_and_rebuilt() -> None:
    rng = random.Random(7)
    ExchangeRate.objects.create(rate="2500.25", source="operator", retrieved_at=timezone.now() - timedelta(days=9))
    for _ in range(12):
        new_payment(rng, timezone.now() - timedelta(seconds=rng.randrange(0, 86400)))
    assert volume_discrepancies() == {}
    assert volume_fold(wait_seconds=5) is not None
    with connection.cursor() as cursor:
        cursor.execute("UPDATE payments_volumebucket SET wei_cents = wei_cents + 1 "
                       "WHERE id = (SELECT min(id) FROM payments_volumebucket)")
    assert len(volume_discrepancies()) == 1
    with pytest.raises(CommandError, match="1 quarter hours differ"):
        call_command("volume_reconcile", stdout=io.StringIO())
    written = volume_rebuild()
    assert written > 0 and volume_discrepancies() == {}
    assert rollup_totals() == python_truth()
    out = io.StringIO()
    call_command("volume_reconcile", "--rebuild", stdout=out)
    assert "the rollup matches" in out.getvalue()


@pytest.mark.chain
@pytest.mark.delivery_yield
@pytest.mark.django_db(transaction=True)
def test_purchases_through_the_hub_reach_the_rollup_in_their_one_write(hub_chain) -> None:  # type: ignore[no-untyped-def]
    """The purchase path writes everything in one statement (tests/purchases/test_round_trips.py)
    and adds nothing to the rollup: the overview reads its payments after the watermark until the
    fold adds them."""
    from tests.chain_env import ETH, TOKEN
    from tests.hub.api.test_channel_flows import set_rate
    from tests.purchases.helpers import collateralize, funded_user, pay_request

    set_rate("100")
    alice = funded_user(hub_chain, tokens=20 * TOKEN)
    bob = funded_user(hub_chain, wei=ETH // 10)
    collateralize(hub_chain, bob)
    for _ in range(2):
        response = alice.post("payments/purchase", {"meta": {}, "payments": [
            pay_request(alice, bob.address, token=TOKEN // 10, ptype="PT_CHANNEL")]})
        assert response.status_code == 200, response.content
    assert volume_discrepancies() == {}
    assert rollup_totals()[bob.address.lower()] == (2, 0, 2 * (TOKEN // 10), Decimal(2 * (TOKEN // 10)) / 10**18)


@pytest.mark.django_db(transaction=True)
def test_a_fold_waits_for_a_payment_whose_transaction_is_still_running() -> None:
    """A transaction takes its payment's id, a later one commits a higher id first: the fold may
    not move the watermark past the first payment before it commits (it would never be added)."""
    rng = random.Random(3)
    inserted, release, failed, first = threading.Event(), threading.Event(), [], []

    def slow_writer() -> None:
        try:
            with transaction.atomic():
                first.append(new_payment(rng, timezone.now()).pk)
                inserted.set()
                release.wait(30)
        except Exception as exc:  # pragma: no cover - reported below
            failed.append(exc)
            inserted.set()
        finally:
            connection.close()  # this thread's own

    writer = threading.Thread(target=slow_writer)
    writer.start()
    try:
        assert inserted.wait(30) and not failed
        later = new_payment(random.Random(4), timezone.now())  # committed, a higher id
        assert first[0] < later.pk
        assert volume_fold(wait_seconds=0) is None  # the slow writer is still running
    finally:
        release.set()
        writer.join(30)
    assert not failed
    assert volume_fold(wait_seconds=5) is not None
    assert volume_discrepancies() == {}
    assert rollup_totals() == python_truth()
    assert sum(v[0] for v in python_truth().values()) == Payment.objects.filter(
        status=Payment.Status.COMPLETED).count()
