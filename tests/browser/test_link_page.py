"""The public link page in headless Chromium (Debian's chromium, driven by Playwright): open a
link URL, claim to a typed address, and the address's on-chain balance grows by the amount."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection
from eth_account import Account
from web3 import Web3

from hub.chain.ingest import events_poll
from linkpay.models import Link
from tests.chain_env import ETH, ChainEnv
from tests.hub.api.test_channel_flows import run_hub_transactions
from tests.linkpay.helpers import buy_link
from tests.purchases.helpers import funded_user

pytestmark = [pytest.mark.browser, pytest.mark.chain, pytest.mark.django_db(transaction=True)]

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                 "--disable-dev-shm-usage"]


@contextmanager
def chain_worker() -> Iterator[None]:
    """What the worker does in production: send the hub's transactions, ingest events."""
    stop = threading.Event()

    def loop() -> None:
        try:
            while not stop.wait(0.3):
                run_hub_transactions()
                events_poll()
        finally:
            connection.close()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(10)


@pytest.fixture
def page(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread; the test's own ORM
    # calls are still plain synchronous code
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser.new_page()
        finally:
            browser.close()


def test_a_recipient_claims_a_link_to_a_typed_address_and_is_paid_on_chain(
        hub_chain: ChainEnv, live_server: Any, page: Any) -> None:
    alice = funded_user(hub_chain, wei=ETH // 2)
    secret, link = buy_link(alice, wei=ETH // 20, meta={"note": "for the coffee"})
    to = Account.create().address
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))

    page.goto(f"{live_server.url}/l/{link.public_id}#{secret}")
    assert page.locator("#amount").inner_text() == "0.05 ETH"
    assert page.locator("#note").inner_text() == "for the coffee"
    assert page.locator("#status").get_attribute("data-status") == "open"
    page.fill("#address", to)
    with chain_worker():
        page.click("#claim-button")
        page.wait_for_selector('#status[data-status="redeemed"]', timeout=60_000)
    assert hub_chain.w3.eth.get_balance(Web3.to_checksum_address(to)) == ETH // 20
    link.refresh_from_db()
    assert (link.status, link.payout, link.redeemer) == ("redeemed", "onchain", to.lower())
    # the secret never travelled in a URL (it went in the claim's JSON body)
    assert requests and not any(secret[2:] in url.lower() for url in requests)

    # opened again (by anyone), the page shows the final state and offers no claim
    page.goto(f"{live_server.url}/l/{link.public_id}#{secret}")
    assert page.locator("#status").get_attribute("data-status") == "redeemed"
    assert page.locator("#claim").is_hidden()


def test_the_page_refuses_a_wrong_secret_and_says_so(hub_chain: ChainEnv, live_server: Any, page: Any) -> None:
    alice = funded_user(hub_chain, wei=ETH // 2)
    _, link = buy_link(alice, wei=ETH // 100)
    page.goto(f"{live_server.url}/l/{link.public_id}#0x{'00' * 32}")
    page.fill("#address", Account.create().address)
    page.click("#claim-button")
    page.wait_for_selector("#message.error", timeout=10_000)
    assert page.locator("#message").inner_text() == "no link has this secret"
    assert Link.objects.get(pk=link.pk).status == "open"


def test_a_link_url_without_its_secret_explains_what_is_missing(
        hub_chain: ChainEnv, live_server: Any, page: Any) -> None:
    alice = funded_user(hub_chain, wei=ETH // 2)
    _, link = buy_link(alice, wei=ETH // 100)
    page.goto(f"{live_server.url}/l/{link.public_id}")
    assert page.locator("#no-secret").is_visible()
    assert page.locator("#claim").is_hidden()
