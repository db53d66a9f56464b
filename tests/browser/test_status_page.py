"""The public status page in headless Chromium at a phone's and a desktop's width: it fits
without sideways scrolling, runs under the strict policy without a violation, and shows an open
incident and a stale worker. Screenshots go to artifacts/screenshots/."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.core.cache import cache
from django.utils import timezone

from config.status.report import CACHE_KEY
from ops.models import Heartbeat
from ops.services import alarm_raise, heartbeat_record
from ops.tasks import WORKER_HEARTBEAT
from tests.browser.dashboard_server import chromium_page, daphne_server, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_status_page_fits_a_phone_and_a_desktop(tmp_path: Path) -> None:
    heartbeat_record(name=WORKER_HEARTBEAT)
    Heartbeat.objects.filter(name=WORKER_HEARTBEAT).update(beat_at=timezone.now() - timedelta(minutes=5))
    alarm_raise(kind="low_reserve", key="token", severity="critical",
                message="the hub's token reserve (5) cannot cover a top-up of 10")
    alarm_raise(kind="rate_feed", message="price feed answer is older than 24 h")
    cache.delete(CACHE_KEY)  # a report cached by an earlier test in this Redis database
    console_errors: list[str] = []

    with daphne_server(tmp_path) as base, chromium_page(console_errors) as page:
        for width, height in ((390, 844), (1280, 860)):
            page.set_viewport_size({"width": width, "height": height})
            response = page.goto(f"{base}/status/")
            assert response is not None and response.status == 200
            assert page.locator("#overall").inner_text() == "Major outage"
            incidents = page.locator("#incidents li")
            assert incidents.count() == 2
            assert "reserve is below its safety threshold" in incidents.first.inner_text()
            assert page.locator('[data-component="stale"]').count() == 1
            assert "Not yet published" in page.locator("#liabilities").inner_text()
            fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            assert fits, page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            screenshot(page, f"status-{width}")
        json_response = page.goto(f"{base}/status.json")
        assert json_response is not None and json_response.json()["status"] == "major_outage"

    assert console_errors == []
