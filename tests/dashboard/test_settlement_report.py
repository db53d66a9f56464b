"""The settlement's itemised report (CSV, linked from the settlement page): the payments and
refunds it covers since the previous settlement, the (zero) fee, the payout, each with its fiat
value of the time, adding up to what the settlement moved."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.test import Client
from django.utils import timezone

from hub.custodial.services import FLOAT, custodial_debit
from hub.purchases.listeners import payments_settled
from hub.rates.models import ExchangeRate
from payments.refunds.services import refund_create, refund_mark_succeeded
from payments.settlements.selectors import settlement_report
from payments.settlements.services import settlement_execute
from tests.dashboard.helpers import make_payment, make_team, random_address, set_rate, sign_in


def test_the_report_itemises_payments_refunds_fee_and_payout_and_reconciles(db: object) -> None:
    ExchangeRate.objects.create(rate="2000", source="operator", retrieved_at=timezone.now() - timedelta(minutes=5))
    team = make_team("Report shop", payout_address=random_address())
    first = make_payment(team.address, wei=10**16)
    second = make_payment(team.address, wei=3 * 10**15)
    refund = refund_create(merchant_id=team.merchant.pk, payment_id=second.pk, amount=10**15)
    with transaction.atomic():  # what the refund execution does once it paid the payer back
        custodial_debit(owner=team.address, amount_wei=10**15, amount_token=0,
                        memo=f"refund {refund.public_id}", counter_account=FLOAT)
        refund_mark_succeeded(refund_id=refund.public_id)
    settlement = settlement_execute(merchant_id=team.merchant.pk, asset="wei")
    assert settlement.amount == 12 * 10**15 and settlement.fiat_value == Decimal("24.00")

    client = Client()
    sign_in(client, team.owner)
    page = client.get(f"/dashboard/settlements/{settlement.public_id}/")
    assert f"/dashboard/settlements/{settlement.public_id}/report.csv" in page.content.decode()
    answer = client.get(f"/dashboard/settlements/{settlement.public_id}/report.csv")
    assert answer.status_code == 200 and answer["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.content.decode())))
    assert [(r["kind"], r["id"]) for r in rows] == [
        ("payment", first.public_id), ("payment", second.public_id), ("refund", refund.public_id),
        ("fee", ""), ("settlement", settlement.public_id), ("balance_change", "")]
    assert [r["fiat_value"] for r in rows[:5]] == ["20.00", "6.00", "-2.00", "0.00", "-24.00"]
    assert sum(int(r["amount_base_units"]) for r in rows[:5]) == 0  # the books balance
    assert rows[5]["amount_base_units"] == "0"
    assert Client().get(f"/dashboard/settlements/{settlement.public_id}/report.csv").status_code == 302

    # the same lines through the merchant API, for a shop backend's books
    from payments.apikeys.services import api_key_create

    key = api_key_create(merchant_id=team.merchant.pk, kind="read_only").plaintext
    api = Client(headers={"Authorization": f"Bearer {key}"})
    report = api.get(f"/api/v1/settlements/{settlement.public_id}/report")
    assert report.status_code == 200, report.content
    body = report.json()
    assert (body["object"], body["settlement"]) == ("settlement_report", settlement.public_id)
    assert [(line["kind"], line["id"], line["amount"], line["fiat_value"]) for line in body["lines"]] == [
        (r["kind"], r["id"], r["amount_base_units"], r["fiat_value"] or None) for r in rows]
    other = make_team("Other shop")
    stranger = Client(headers={"Authorization": "Bearer "
                               + api_key_create(merchant_id=other.merchant.pk, kind="secret").plaintext})
    refused = stranger.get(f"/api/v1/settlements/{settlement.public_id}/report")
    assert refused.status_code == 404 and settlement.public_id not in refused.content.decode()


def test_the_settlement_report_uses_the_recorded_value_not_a_revaluation(db: object) -> None:
    team = make_team("Books shop", payout_address=random_address())
    set_rate("2000", timezone.now() - timedelta(minutes=10))
    recorded = make_payment(team.address, wei=10**16)
    with transaction.atomic():  # what the purchase does once the payment completed
        payments_settled([recorded])
    legacy = make_payment(team.address, wei=10**16)  # no record (made before the values were kept)
    # a rate that arrives afterwards, dated before both payments (a late feed): re-valuing at the
    # rate of their time would now read 30.00; the recorded value stays what was known then
    set_rate("3000", timezone.now() - timedelta(minutes=5))
    settlement = settlement_execute(merchant_id=team.merchant.pk, asset="wei")
    lines = {line[1]: line for line in settlement_report(settlement) if line[0] == "payment"}
    value, note = 6, 11  # report columns
    assert lines[recorded.public_id][value] == Decimal("20.00")
    assert lines[recorded.public_id][note] == "PT_CUSTODIAL"
    assert lines[legacy.public_id][value] == Decimal("30.00")
    assert "no recorded value" in lines[legacy.public_id][note]


def test_the_exports_carry_the_recorded_fiat_values(db: object) -> None:
    team = make_team("Export shop", payout_address=random_address())
    set_rate("2000", timezone.now() - timedelta(minutes=10))
    recorded = make_payment(team.address, wei=10**16)
    with transaction.atomic():
        payments_settled([recorded])
    legacy = make_payment(team.address, wei=10**15)  # no record: empty books columns
    settlement = settlement_execute(merchant_id=team.merchant.pk, asset="wei")
    client = Client()
    sign_in(client, team.owner)

    def export(kind: str) -> list[dict[str, str]]:
        answer = client.get("/dashboard/export/", {"kind": kind})
        return list(csv.DictReader(io.StringIO(b"".join(answer.streaming_content).decode())))

    payments = {r["id"]: r for r in export("payments")}
    assert (payments[recorded.public_id]["fiat_currency"], payments[recorded.public_id]["fiat_value"],
            payments[recorded.public_id]["fiat_rate_source"]) == ("USD", "20.00", "hub:operator")
    assert (payments[legacy.public_id]["fiat_currency"], payments[legacy.public_id]["fiat_value"]) == ("", "")
    (row,) = export("settlements")
    assert (row["id"], row["fiat_currency"], row["fiat_value"]) == (settlement.public_id, "USD", "22.00")
