"""The merchant dashboard in headless Chromium (Debian's chromium driven by Playwright), served
by daphne (HTTP + WebSockets) against the test database. Screenshots of the main pages land in
artifacts/screenshots/; no page may log a console error."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pyotp
import pytest
from eth_account import Account

from hub.purchases.models import Payment
from payments.dashboard.models import TotpDevice
from payments.merchants.services import membership_set, merchant_create
from payments.settlements.models import Settlement
from tests.browser.dashboard_server import chromium_page, daphne_server, messages, screenshot
from tests.chain_env import ETH, ChainEnv
from tests.dashboard.helpers import PASSWORD, make_payment, make_user
from tests.e2e.connext.harness import ConnextDriver
from tests.e2e.test_connext_client_flows import chain_poller  # noqa: F401  (fixture)
from tests.hub.api.test_channel_flows import set_rate

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _sync_playwright_in_tests(monkeypatch: pytest.MonkeyPatch) -> None:
    # Playwright's sync API runs an event loop in this thread; the test's ORM calls stay synchronous
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(autouse=True)
def _fresh_signin_counters() -> None:
    from django.core.cache import cache

    cache.clear()


def sign_in(page: Any, base: str, username: str, totp_secret: str | None = None, shots: str = "") -> None:
    page.goto(f"{base}/dashboard/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    if shots:
        screenshot(page, f"{shots}-sign-in")
    page.get_by_role("button", name="Continue").click()
    if totp_secret:
        page.wait_for_url("**/dashboard/login/code/")
        page.get_by_label("6-digit code").fill(pyotp.TOTP(totp_secret).now())
        if shots:
            screenshot(page, f"{shots}-sign-in-code")
        page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/dashboard/")


@pytest.mark.chain
@pytest.mark.slow
def test_a_merchant_signs_in_with_totp_sees_a_connext_payment_live_links_settles_and_exports(
        hub_chain: ChainEnv, live_server: Any, chain_poller: None, tmp_path: Path) -> None:  # noqa: F811
    set_rate("200")
    totp_secret = pyotp.random_base32()
    owner = make_user("owner-live", totp_secret=totp_secret)
    address = Account.create().address.lower()
    merchant = merchant_create(name="Harbour Coffee", owner=owner, addresses=[address],
                               payout_address=Account.create().address)
    console_errors: list[str] = []

    with daphne_server(tmp_path, chain=hub_chain) as base, chromium_page(console_errors) as page:
        sign_in(page, base, owner.username, totp_secret, shots="01")
        assert TotpDevice.objects.get(user=owner).last_used_step > 0  # the code is used up
        page.wait_for_selector('#live-status[data-state="live"]', timeout=15_000)
        page.evaluate("window.__notReloaded = true")
        assert page.locator("#latest-payments tr[data-payment-id]").count() == 0

        # a shopper pays the merchant with the real Connext client (hub API on live_server)
        account = hub_chain.new_user(eth=2 * ETH)
        driver = ConnextDriver(hub_url=live_server.url + "/api/hub", eth_url=hub_chain.rpc_url,
                               private_key="0x" + bytes(account.key).hex(), timeout=120)
        driver.deposit(amount_wei=ETH // 10)
        driver.buy([{"recipient": address, "amountWei": str(ETH // 20), "type": "PT_CUSTODIAL"}])
        payment = Payment.objects.get(recipient=address)

        row = page.locator(f'#latest-payments tr[data-payment-id="{payment.public_id}"]')
        row.wait_for(timeout=15_000)  # pushed over the socket, refreshed in place
        assert page.evaluate("window.__notReloaded") is True
        assert "0.05 ETH" in row.inner_text() and "$10.00" in row.inner_text()
        assert "0.05 ETH" in page.locator('[data-balance="custodial"]').inner_text()
        page.locator(".toast").first.wait_for()
        screenshot(page, "02-home-live-payment")

        # the receipt: the payer's state signed by the Connext client and the hub, verified
        page.goto(f"{base}/dashboard/payments/{payment.public_id}/")
        assert page.locator(".receipt").first.get_attribute("data-verified") == "true"
        screenshot(page, "03-payment-receipt")

        # a link: URL and QR shown once
        page.goto(f"{base}/dashboard/links/")
        page.get_by_label("Amount").fill("0.01")
        page.get_by_label("Note").fill("Thanks for the review")
        page.get_by_role("button", name="Create link").click()
        page.wait_for_selector("#link-qr svg")
        url = page.locator("#link-url").input_value()
        assert url.startswith(f"{base}/l/lnk_") and "#" in url
        screenshot(page, "04-link-created-qr")

        # a settlement of what is left
        page.goto(f"{base}/dashboard/settlements/")
        page.locator("#settle-form").get_by_label("Amount").fill("0.02")
        asked: list[str] = []
        page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
        page.get_by_role("button", name="Request settlement").click()
        page.wait_for_selector("#settlements-list tr[data-settlement-id]")
        settlement = Settlement.objects.get(merchant=merchant)
        assert settlement.amount == ETH // 50 and settlement.asset == "wei"
        assert settlement.public_id in page.locator("#settlements-list").inner_text()
        assert asked and "0.02" in asked[0], asked  # the confirmation named the amount before money moved
        screenshot(page, "05-settlements")

        # CSV export, checked row by row against the database
        page.goto(f"{base}/dashboard/export/")
        page.get_by_label("What").select_option("payments")
        with page.expect_download() as download:
            page.get_by_role("button", name="Download CSV").click()
        rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
        expected = list(Payment.objects.filter(recipient=address).order_by("created_at", "id"))
        assert [r["id"] for r in rows] == [p.public_id for p in expected]
        assert [(r["sender"], int(r["amount_base_units"]), r["fiat_usd"]) for r in rows] == [
            (p.sender, int(p.amount_wei), "10.00") for p in expected]

        for path, name in (("payments/", "06-payments"), ("invoices/", "07-invoices"),
                           ("api-keys/", "08-api-keys"), ("webhooks/", "09-webhooks"),
                           ("team/", "10-team"), ("audit/", "11-audit-log"), ("security/", "12-security")):
            page.goto(f"{base}/dashboard/{path}")
            screenshot(page, name)
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(f"{base}/dashboard/")
        screenshot(page, "13-home-phone")

    assert console_errors == [], "\n".join(console_errors)


def test_a_staff_member_cannot_see_api_keys(tmp_path: Path) -> None:
    staff = make_user("staff-browser")
    owner = make_user("owner-browser")
    address = Account.create().address.lower()
    merchant = merchant_create(name="Quiet Books", owner=owner, addresses=[address])
    membership_set(merchant_id=merchant.pk, user=staff, role="staff")
    make_payment(address, wei=ETH // 4)
    console_errors: list[str] = []

    with daphne_server(tmp_path) as base, chromium_page(console_errors) as page:
        sign_in(page, base, staff.username)
        nav = page.get_by_role("navigation", name="Dashboard")
        assert nav.get_by_role("link", name="Payments").is_visible()
        assert nav.get_by_role("link", name="API keys").count() == 0
        assert console_errors == []
        response = page.goto(f"{base}/dashboard/api-keys/")
        assert response is not None and response.status == 403
        assert page.get_by_role("heading", name="Not available to your role").is_visible()
        assert "sk_live_" not in page.content()
        screenshot(page, "14-staff-api-keys-forbidden")
    # Chromium logs the deliberate 403 itself; nothing else
    assert messages(console_errors) == ["Failed to load resource: the server responded with a status of 403 (Forbidden)"]
