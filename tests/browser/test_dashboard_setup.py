"""A new merchant's first session in headless Chromium: the onboarding checklist walks them
through a payout address, a restricted API key (which the API then holds to its permissions),
a webhook endpoint and a test invoice (copied checkout link, then voided), and disappears when
all is done; the overview's period picker, comparison and chart. Screenshots at 1280 and 390 px
land in artifacts/screenshots/; no console errors, nothing wider than the viewport."""

from __future__ import annotations

import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from eth_account import Account

from payments.apikeys.models import ApiKey
from payments.invoices.models import Invoice
from payments.merchants.models import Merchant
from payments.merchants.services import merchant_create
from payments.webhooks.models import WebhookEndpoint
from tests.browser.dashboard_server import chromium_page, daphne_server, screenshot
from tests.browser.test_dashboard import sign_in
from tests.dashboard.helpers import PASSWORD, make_payment, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ETH = 10**18


@pytest.fixture(autouse=True)
def _sync_playwright_in_tests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(autouse=True)
def _fresh_signin_counters() -> None:
    from django.core.cache import cache

    cache.clear()


def fits(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def api_status(base: str, path: str, key: str) -> int:
    request = urllib.request.Request(f"{base}{path}", headers={"Authorization": f"Bearer {key}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def step_done(page: Any, key: str) -> bool:
    return page.locator(f'#onboarding li[data-step="{key}"]').get_attribute("data-done") == "true"


def test_a_new_merchant_completes_the_onboarding_checklist_and_it_disappears(tmp_path: Path) -> None:
    owner = make_user("owner-onboard")
    merchant = merchant_create(name="Fresh Roastery", owner=owner, addresses=[Account.create().address.lower()])
    payout = Account.create().address
    console_errors: list[str] = []

    with daphne_server(tmp_path) as base, chromium_page(console_errors) as page:
        page.on("dialog", lambda dialog: dialog.accept())  # the confirmation steps
        sign_in(page, base, owner.username)
        checklist = page.locator("#onboarding")
        assert checklist.is_visible()
        assert checklist.locator('li[data-done="false"]').count() == 4
        screenshot(page, "setup-01-checklist")

        # 1. the payout address, from the checklist's link
        checklist.get_by_role("link", name="Set your payout address").click()
        page.wait_for_url(f"{base}/dashboard/settlements/#auto-rule")
        rule = page.locator("#rule-form")
        rule.get_by_label("Payout address").fill(payout)
        rule.get_by_label("Your password or a 6-digit code").fill(PASSWORD)
        rule.get_by_role("button", name="Save rule").click()
        page.wait_for_load_state()
        assert Merchant.objects.get(pk=merchant.pk).payout_address == payout.lower()
        page.goto(f"{base}/dashboard/")
        assert step_done(page, "payout_address") and not step_done(page, "api_key")

        # 2. a restricted key: invoices write, events read
        page.locator("#onboarding").get_by_role("link", name="Create an API key").click()
        page.wait_for_url(f"{base}/dashboard/api-keys/#new-key")
        page.get_by_label("Name").fill("shop backend")
        page.get_by_label("Kind").select_option("restricted")
        perms = page.locator("#key-permissions")
        perms.get_by_label("Invoices", exact=True).select_option("write")
        perms.get_by_label("Events", exact=True).select_option("read")
        screenshot(page, "setup-02-restricted-key-form")
        page.get_by_role("button", name="Create key").click()
        page.locator("#issued-key").wait_for()
        secret = page.locator("#issued-key").input_value()
        assert secret.startswith("rk_live_")
        key = ApiKey.objects.get(merchant=merchant)
        assert key.kind == "restricted" and key.permissions == {"invoices": "write", "events": "read"}
        assert api_status(base, "/api/v1/invoices", secret) == 200
        assert api_status(base, "/api/v1/events", secret) == 200
        assert api_status(base, "/api/v1/payments", secret) == 403  # beyond its permissions
        assert api_status(base, "/api/v1/settlements", secret) == 403
        page.goto(f"{base}/dashboard/")
        assert step_done(page, "api_key") and not step_done(page, "webhook")

        # 3. a webhook endpoint
        page.locator("#onboarding").get_by_role("link", name="Add a webhook endpoint").click()
        page.wait_for_url(f"{base}/dashboard/webhooks/")
        page.get_by_label("Endpoint URL").fill("https://hooks.example.com/spoke")
        page.get_by_role("button", name="Add endpoint").click()
        page.wait_for_url(f"{base}/dashboard/webhooks/we_*/")
        assert WebhookEndpoint.objects.filter(merchant=merchant).count() == 1
        page.goto(f"{base}/dashboard/")
        assert step_done(page, "webhook") and not step_done(page, "invoice")
        screenshot(page, "setup-03-checklist-three-done")

        # 4. a test invoice: its page copies the checkout link, then it is voided
        page.locator("#onboarding").get_by_role("link", name="Create a test invoice").click()
        page.wait_for_url(f"{base}/dashboard/invoices/new/")
        page.get_by_label("Amount").fill("0.25")
        page.get_by_role("button", name="Create invoice").click()
        page.wait_for_url(f"{base}/dashboard/invoices/inv_*/")
        invoice = Invoice.objects.get(merchant=merchant)
        assert page.locator("#checkout-url").input_value() == f"{base}/pay/{invoice.public_id}"
        assert "0.25 ETH" in page.locator("#invoice-remaining").inner_text()
        page.locator("#copy-checkout").click()
        assert page.locator("#copy-checkout").inner_text() == "Copied"
        screenshot(page, "setup-04-invoice")
        page.get_by_role("button", name="Void invoice").click()
        page.locator('#invoice-state[data-state="void"]').wait_for()
        invoice.refresh_from_db()
        assert invoice.state == Invoice.State.VOID
        assert page.locator("#void-form").count() == 0
        screenshot(page, "setup-05-invoice-void")

        page.goto(f"{base}/dashboard/")
        assert page.locator("#onboarding").count() == 0
        for width, height in ((1280, 860), (390, 844)):
            page.set_viewport_size({"width": width, "height": height})
            page.reload()
            assert fits(page), width
            screenshot(page, f"setup-06-home-done-{width}")

    assert console_errors == []


def test_the_overview_compares_periods_and_draws_the_chart(tmp_path: Path) -> None:
    owner = make_user("owner-overview")
    address = Account.create().address.lower()
    merchant_create(name="Overview Books", owner=owner, addresses=[address], payout_address=Account.create().address)
    now = timezone.now()
    make_payment(address, token=4 * ETH, created_at=now - timedelta(days=1))
    make_payment(address, token=6 * ETH, created_at=now - timedelta(days=3))
    make_payment(address, token=5 * ETH, created_at=now - timedelta(days=9))  # the 7 days before
    console_errors: list[str] = []

    with daphne_server(tmp_path) as base, chromium_page(console_errors) as page:
        sign_in(page, base, owner.username)
        page.get_by_role("navigation", name="Period").get_by_role("link", name="7 days").click()
        page.wait_for_url(f"{base}/dashboard/?range=7")
        volume = page.locator("#stat-volume")
        assert "$10.00" in volume.inner_text()
        assert page.locator("#stat-volume .change").get_attribute("data-change") == "100.0"
        assert page.locator("#stat-count .count").inner_text() == "2"
        chart = page.locator("#volume-chart")
        assert chart.locator("rect.bar").count() == 7
        assert chart.locator(".y-axis text").count() == 5 and chart.locator(".x-axis text").count() >= 2
        heights = [float(h) for h in chart.locator("rect.bar").evaluate_all("rs => rs.map(r => r.getAttribute('height'))")]
        assert max(heights) > 0 and heights.count(0.0) == 5
        page.locator("#volume summary").click()
        assert page.locator("#chart-table tbody tr").count() == 7
        screenshot(page, "overview-01-7-days")

        today = timezone.localdate()
        page.get_by_role("textbox", name="From").fill((today - timedelta(days=13)).isoformat())
        page.get_by_role("textbox", name="To").fill(today.isoformat())
        page.get_by_role("button", name="Show").click()
        page.wait_for_url("**range=custom**")
        assert "$15.00" in page.locator("#stat-volume").inner_text()
        assert page.locator("#volume-chart rect.bar").count() == 14
        for width, height in ((1280, 860), (390, 844)):
            page.set_viewport_size({"width": width, "height": height})
            page.reload()
            assert fits(page), width
            screenshot(page, f"overview-02-custom-{width}")


    assert console_errors == []
