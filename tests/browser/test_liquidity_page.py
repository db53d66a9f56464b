"""The merchant's Liquidity page in headless Chromium at a phone's and a desktop's width: it fits
without sideways scrolling and runs under the strict policy. Screenshots in artifacts/screenshots/."""

from __future__ import annotations

from pathlib import Path

import pytest

from payments.merchants.services import merchant_create, receiving_address_add
from tests.browser.dashboard_server import chromium_page, daphne_server, screenshot
from tests.browser.test_dashboard import sign_in
from tests.dashboard.helpers import make_user, random_address

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_liquidity_page_fits_a_phone_and_a_desktop(tmp_path: Path) -> None:
    owner = make_user("liquidity-browser")
    merchant = merchant_create(name="Liquid Goods", owner=owner, addresses=[random_address()])
    receiving_address_add(merchant_id=merchant.pk, address=random_address(), mode="channel")
    console_errors: list[str] = []

    with daphne_server(tmp_path) as base, chromium_page(console_errors) as page:
        sign_in(page, base, owner.username)
        page.get_by_role("navigation", name="Dashboard").get_by_role("link", name="Liquidity").click()
        page.wait_for_url(f"{base}/dashboard/liquidity/")
        for width, height in ((390, 844), (1280, 860)):
            page.set_viewport_size({"width": width, "height": height})
            page.goto(f"{base}/dashboard/liquidity/")
            assert page.get_by_role("heading", name="Can receive instantly now").is_visible()
            assert page.locator("#liquidity-addresses tbody tr").count() == 2
            assert "any amount" in page.locator("#liquidity-addresses").inner_text()
            fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            assert fits, page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            screenshot(page, f"liquidity-{width}")

    assert console_errors == []
