"""The merchant's Proof of funds page and the public /proof/ page in headless Chromium at a phone
(390 px) and a desktop (1280 px) width: nothing wider than the viewport, the proof verifies, the
download is the proof document, and the reserve banner shows when reserves are short."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction
from eth_account import Account

from hub.core.liabilities import verify_liability_proof
from hub.ledger.services import post
from hub.liabilities.services import liabilities_publish
from payments.merchants.services import merchant_create
from tests.browser.dashboard_server import chromium_page, daphne_server, screenshot
from tests.browser.test_dashboard import sign_in
from tests.chain_env import ChainEnv
from tests.dashboard.helpers import make_user

pytestmark = [pytest.mark.browser, pytest.mark.chain, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _sync_playwright_in_tests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(autouse=True)
def _fresh_signin_counters() -> None:
    from django.core.cache import cache

    cache.clear()


def _fits(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def test_the_proof_pages_fit_phone_and_desktop_and_show_the_reserve_banner(
        hub_chain: ChainEnv, tmp_path: Path) -> None:
    owner = make_user("owner-proof")
    address = Account.create().address.lower()
    merchant_create(name="Lighthouse Tea", owner=owner, addresses=[address])
    with transaction.atomic():  # far more than the chain holds: the reserves are short in ETH
        post([(f"custodial:{address}", "wei", 10**30), ("hub:custodial_float", "wei", -10**30),
              (f"custodial:{address}", "token", 3 * 10**18), ("hub:custodial_float", "token", -3 * 10**18)])
    root = liabilities_publish()
    console_errors: list[str] = []

    with daphne_server(tmp_path, chain=hub_chain) as base, chromium_page(console_errors) as page:
        sign_in(page, base, owner.username)
        page.get_by_role("navigation", name="Dashboard").get_by_role("link", name="Proof of funds").click()
        page.wait_for_url(f"{base}/dashboard/proof/")
        for width, height in ((1280, 860), (390, 844)):
            page.set_viewport_size({"width": width, "height": height})
            page.reload()
            assert page.locator("#reserve-banner").is_visible()
            assert page.locator('[data-verified="yes"]').count() == 2
            assert page.locator('[data-verified="no"]').count() == 0
            assert root.commitment in page.locator("#proof-root").inner_text()
            assert _fits(page), f"the proof page is wider than {width} px"
            screenshot(page, f"proof-of-funds-{width}")
        with page.expect_download() as info:
            page.locator("#proof-download").click()
        document = json.loads(Path(info.value.path()).read_text())
        for proof in document["proofs"]:
            verify_liability_proof(proof, document["root"], hub_chain.hub.address)

        for width, height in ((1280, 860), (390, 844)):
            page.set_viewport_size({"width": width, "height": height})
            page.goto(f"{base}/proof/")
            assert page.locator("#reserve-banner").is_visible()
            assert page.locator("#root-commitment").inner_text() == root.commitment
            assert page.locator('tr[data-asset="wei"] [data-ratio]').inner_text() == "0.0000"
            assert _fits(page), f"the public proof page is wider than {width} px"
            screenshot(page, f"proof-public-{width}")
    assert console_errors == []
