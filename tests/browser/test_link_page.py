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


def claim_to(page: Any, address: str) -> None:
    """Type the address, continue, tick "I checked", send (the page's two-step claim)."""
    page.fill("#address", address)
    page.click("#claim-button")
    page.wait_for_selector("#confirm:not([hidden])")
    assert page.locator("#confirm-address").inner_text() == address
    assert page.locator("#send-button").is_disabled()  # not before the address is confirmed
    page.check("#confirm-check")
    page.click("#send-button")


def test_a_recipient_claims_a_link_to_a_typed_address_and_is_paid_on_chain(
        hub_chain: ChainEnv, live_server: Any, page: Any) -> None:
    alice = funded_user(hub_chain, wei=ETH // 2)
    secret, link = buy_link(alice, wei=ETH // 20, meta={"note": "for the coffee"})
    to = Account.create().address
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))

    page.goto(f"{live_server.url}/l/{link.public_id}#{secret}")
    assert page.locator("#amount").inner_text() == "0.05 ETH"
    # the page names the sender (a channel user: its short address) in its one heading
    assert page.locator("h1").count() == 1
    assert page.locator("h1").inner_text().startswith(f"{alice.address[:6]}…{alice.address[-4:]} sent you")
    assert page.locator("#note").inner_text() == "for the coffee"
    assert page.locator("#status").get_attribute("data-status") == "open"
    assert "Claim it within" in page.locator("#expiry").inner_text()
    assert page.locator("#expires").inner_text() != page.locator("#expires").get_attribute("datetime")  # words, not ISO
    assert page.locator("#no-wallet summary").is_visible()  # help for someone without a wallet

    # the burn addresses are refused with the reason, before and at the server
    for burn in ("0x0000000000000000000000000000000000000000", "0x000000000000000000000000000000000000dEaD"):
        page.fill("#address", burn)
        page.click("#claim-button")
        page.wait_for_selector("#message.error")
        assert "belongs to nobody" in page.locator("#message").inner_text()
        assert page.locator("#confirm").is_hidden()
    with chain_worker():
        claim_to(page, to)
        page.wait_for_selector('#status[data-status="redeemed"]', timeout=60_000)
        # after the claim: where it went and the transaction
        page.wait_for_function("document.getElementById('tx-hash').textContent.startsWith('0x')", timeout=30_000)
    assert page.locator("#destination").inner_text() == to.lower()
    tx_hash = page.locator("#tx-hash").inner_text()
    assert hub_chain.w3.eth.get_transaction(tx_hash)["to"] == Web3.to_checksum_address(to)
    assert hub_chain.w3.eth.get_balance(Web3.to_checksum_address(to)) == ETH // 20
    link.refresh_from_db()
    assert (link.status, link.payout, link.redeemer) == ("redeemed", "onchain", to.lower())
    # the secret never travelled in a URL (it went in the claim's JSON body)
    assert requests and not any(secret[2:] in url.lower() for url in requests)

    # opened again (by anyone), the page shows the final state and offers no claim
    page.goto(f"{live_server.url}/l/{link.public_id}#{secret}")
    assert page.locator("#status").get_attribute("data-status") == "redeemed"
    assert page.locator("#claim").is_hidden()
    assert page.locator("#tx-hash").inner_text() == tx_hash


def test_the_page_refuses_a_wrong_secret_and_says_so(hub_chain: ChainEnv, live_server: Any, page: Any) -> None:
    alice = funded_user(hub_chain, wei=ETH // 2)
    _, link = buy_link(alice, wei=ETH // 100)
    page.goto(f"{live_server.url}/l/{link.public_id}#0x{'00' * 32}")
    claim_to(page, Account.create().address)
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
