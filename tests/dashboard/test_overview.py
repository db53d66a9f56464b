"""The overview: the period picker (presets and custom dates, refused with 400 when malformed),
the comparison with the previous period of the same length, the chart's axes and values, the
onboarding checklist read from real data, and the team's time zone."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone

from payments.apikeys.services import api_key_create
from payments.dashboard.overview import Change, Period, nice_ceiling, volume_chart
from payments.invoices.services import invoice_create
from payments.merchants.models import Merchant
from payments.webhooks.models import WebhookEndpoint
from tests.dashboard.helpers import make_payment, make_team, post_form, random_address, sign_in

pytestmark = pytest.mark.django_db
ETH = 10**18


def client_for(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    sign_in(client, user)
    return client


@pytest.fixture
def shop():  # type: ignore[no-untyped-def]
    team = make_team("Tea house", roles=("staff",))
    now = timezone.now()
    # 5 SPD ($5) in each of the last 7 days' window, 2 SPD 10 days ago, 3 SPD 40 days ago
    make_payment(team.address, token=5 * ETH, created_at=now - timedelta(days=2))
    make_payment(team.address, token=2 * ETH, created_at=now - timedelta(days=10))
    make_payment(team.address, token=3 * ETH, created_at=now - timedelta(days=40))
    return team


def test_the_7_day_preset_compares_with_the_7_days_before(shop) -> None:  # type: ignore[no-untyped-def]
    response = client_for(shop.owner).get("/dashboard/", {"range": "7"})
    assert response.status_code == 200
    c = response.context["comparison"]
    today = timezone.localdate()
    assert (c.period.start, c.period.end) == (today - timedelta(days=6), today)
    assert (c.previous_period.start, c.previous_period.end) == (today - timedelta(days=13), today - timedelta(days=7))
    assert (c.current.count, str(c.current.fiat)) == (1, "5.00")
    assert (c.previous.count, str(c.previous.fiat)) == (1, "2.00")
    assert c.fiat_change.percent == Decimal("150.0") and c.fiat_change.label == "+150.0%"
    page = response.content.decode()
    assert 'data-change="150.0"' in page and 'aria-current="true">7 days' in page


def test_a_custom_period_counts_only_its_days(shop) -> None:  # type: ignore[no-untyped-def]
    today = timezone.localdate()
    start, end = today - timedelta(days=45), today - timedelta(days=5)
    response = client_for(shop.owner).get("/dashboard/", {"range": "custom", "start": start.isoformat(),
                                                           "end": end.isoformat()})
    c = response.context["comparison"]
    assert c.period == Period(start, end, "custom") and c.period.days == 41
    assert (c.current.count, str(c.current.fiat)) == (2, "5.00")  # 10 and 40 days ago
    assert c.previous_period.end == start - timedelta(days=1) and c.previous_period.days == 41
    assert len(response.context["chart"].bars) == 41


@pytest.mark.parametrize("params", [
    {"range": "365"}, {"range": "custom"}, {"range": "custom", "start": "2026-01-10", "end": "2026-01-01"},
    {"range": "custom", "start": "1999-12-31", "end": "2000-01-05"},
    {"range": "custom", "start": "9999-12-30", "end": "9999-12-31"},
    {"range": "custom", "start": "2020-01-01", "end": "2023-01-01"},
    {"range": "custom", "start": "not-a-date", "end": "2026-01-01"},
    {"range": "7' OR 1=1 --"}, {"start": "2026-01-01"},
])
def test_a_malformed_period_is_refused_with_400(shop, params: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    response = client_for(shop.owner).get("/dashboard/", params)
    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()


def test_the_chart_has_value_and_date_axes_and_bars_in_proportion() -> None:
    start = date(2026, 3, 1)
    period = Period(start, start + timedelta(days=9), "custom")
    from payments.dashboard.overview import DayVolume

    chart = volume_chart({start: DayVolume(1, 0, 0, Decimal("30")), start + timedelta(days=9): DayVolume(2, 0, 0, Decimal("75"))},
                         period)
    assert chart.top == Decimal(100)  # 75 rounds up to a readable top
    assert [t.label for t in chart.y_ticks] == ["$0", "$25", "$50", "$75", "$100"]
    assert chart.x_ticks[0].label == "Mar 1" and chart.x_ticks[-1].label == "Mar 10"
    first, last = chart.bars[0], chart.bars[-1]
    assert last.height == pytest.approx(first.height * 2.5, rel=1e-3)
    assert last.y + last.height == pytest.approx(chart.bottom)
    assert [b.count for b in chart.bars].count(0) == 8


def test_the_chart_renders_as_accessible_svg_with_a_table_alternative(shop) -> None:  # type: ignore[no-untyped-def]
    page = client_for(shop.owner).get("/dashboard/", {"range": "30"}).content.decode()
    assert 'aria-labelledby="chart-title chart-desc"' in page and '<desc id="chart-desc">' in page
    assert page.count('<rect class="bar"') == 30
    assert "<script>" not in page and "style=" not in page
    table = page[page.index('id="chart-table"'):]
    table = table[:table.index("</table>")]
    assert table.count("<tr>") == 31 and "$5.00" in table


@pytest.mark.parametrize(("value", "top"), [("0", "1"), ("0.4", "0.5"), ("3", "5"), ("7.5", "10"), ("201", "250"),
                                            ("1000", "1000"), ("1001", "2000")])
def test_nice_ceiling(value: str, top: str) -> None:
    assert nice_ceiling(Decimal(value)) == Decimal(top)


def test_change_labels() -> None:
    assert Change(Decimal(0), Decimal(0)).label == "—"
    assert Change(Decimal(5), Decimal(0)).label == "new"
    assert Change(Decimal(1), Decimal(4)).label == "\u221275.0%"


def test_the_onboarding_checklist_follows_real_data_and_disappears_when_done() -> None:
    team = make_team("New shop")
    client = client_for(team.owner)
    page = client.get("/dashboard/").content.decode()
    assert 'id="onboarding"' in page and page.count('data-done="false"') == 4
    assert 'href="/dashboard/settlements/#auto-rule"' in page and 'href="/dashboard/invoices/new/"' in page

    Merchant.objects.filter(pk=team.merchant.pk).update(payout_address=random_address())
    api_key_create(merchant_id=team.merchant.pk, kind="read_only")
    page = client.get("/dashboard/").content.decode()
    assert page.count('data-done="true"') == 2 and "2 of 4 done." in page

    WebhookEndpoint.objects.create(merchant=team.merchant, url="https://example.com/hook", event_types=["*"],
                                   secret="whsec_test")
    invoice_create(merchant_id=team.merchant.pk, amount=ETH, asset="wei")
    assert 'id="onboarding"' not in client.get("/dashboard/").content.decode()


def test_times_and_days_follow_the_team_time_zone(shop) -> None:  # type: ignore[no-untyped-def]
    client = client_for(shop.owner)
    response = post_form(client, "/dashboard/team/", "/dashboard/time-zone/", {"time_zone": "Pacific/Kiritimati"})
    assert response.status_code == 302
    shop.merchant.refresh_from_db()
    assert shop.merchant.time_zone == "Pacific/Kiritimati"
    # a payment at 23:30 UTC is on the next day at UTC+14
    late = datetime(2026, 1, 5, 23, 30, tzinfo=ZoneInfo("UTC"))
    payment = make_payment(shop.address, token=ETH, created_at=late)
    page = client.get("/dashboard/payments/", {"q": payment.public_id}).content.decode()
    assert "2026-01-06 13:30:00" in page and "Pacific/Kiritimati" in page
    response = client.get("/dashboard/", {"range": "custom", "start": "2026-01-06", "end": "2026-01-06"})
    assert response.context["comparison"].current.count == 1


@pytest.mark.parametrize("zone", ["Mars/Olympus", "", "UTC\x00", "../../etc/passwd", "x" * 65])
def test_an_unknown_time_zone_is_refused(shop, zone: str) -> None:  # type: ignore[no-untyped-def]
    client = client_for(shop.owner)
    response = post_form(client, "/dashboard/team/", "/dashboard/time-zone/", {"time_zone": zone})
    assert response.status_code == 400
    shop.merchant.refresh_from_db()
    assert shop.merchant.time_zone == "UTC"


def test_staff_cannot_set_the_time_zone(shop) -> None:  # type: ignore[no-untyped-def]
    client = client_for(shop.users["staff"])
    assert client.post("/dashboard/time-zone/", {"time_zone": "Europe/Berlin"}).status_code == 403
