"""A shopper pays a hosted checkout with a browser wallet, in Chromium: an injected EIP-1193
provider (`window.ethereum`) backed by an unlocked anvil account sends the contract call the page
prepared; after the hub ingests the confirmed `CheckoutPaid` event the checkout page turns paid
without a reload (receipt, return link, no pay button) and so does the merchant's dashboard.
Screenshots at 1280 and 390 px go to artifacts/screenshots/."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from playwright.sync_api import expect

from hub.chain.ingest import events_poll
from hub.chain.signer import hub_address
from payments.balances.selectors import merchant_balance
from payments.invoices.models import Invoice
from payments.invoices.services import invoice_create
from payments.merchants.services import merchant_create
from tests.browser.dashboard_server import chromium_page, daphne_server, screenshot
from tests.browser.test_dashboard import sign_in
from tests.chain_env import ETH, ChainEnv
from tests.dashboard.helpers import make_user

pytestmark = [pytest.mark.browser, pytest.mark.chain, pytest.mark.django_db(transaction=True)]

# An EIP-1193 provider whose requests the test answers from Python (the page's CSP allows no
# fetch to anvil): accounts are the wallet's, everything else goes to anvil's JSON-RPC.
PROVIDER = """
window.ethereum = {
  isMetaMask: true,
  request: async function (args) {
    const answer = JSON.parse(await window.__walletRpc(args.method, JSON.stringify(args.params || [])));
    if (answer.error) { const e = new Error(answer.error.message); e.code = answer.error.code; throw e; }
    return answer.result;
  },
  on: function () {}, removeListener: function () {},
};
"""


@pytest.fixture(autouse=True)
def _async_unsafe(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    yield


def wallet_rpc(env: ChainEnv, account: str, calls: list[str]) -> Any:
    def rpc(method: str, params_json: str) -> str:
        calls.append(method)
        params = json.loads(params_json)
        if method in ("eth_requestAccounts", "eth_accounts"):
            return json.dumps({"result": [account]})
        if method == "wallet_switchEthereumChain":
            return json.dumps({"result": None})
        answer = env.w3.provider.make_request(method, params)  # type: ignore[arg-type]
        return json.dumps({"result": answer.get("result"), "error": answer.get("error")})
    return rpc


def test_a_shopper_pays_with_a_browser_wallet_and_both_pages_turn_paid(
    hub_chain: ChainEnv, settings: Any, tmp_path: Path,
) -> None:
    settings.CONFIRMATIONS = 1
    owner = make_user("owner-checkout")
    shop_address = Account.create().address.lower()
    merchant = merchant_create(name="Harbour Coffee", owner=owner, addresses=[shop_address])
    invoice = invoice_create(merchant_id=merchant.pk, amount=ETH // 40, asset="wei",
                             description="2 flat whites", order_id="HC-1042",
                             success_url="https://shop.example/thanks?order=HC-1042")
    shopper = hub_chain.w3.eth.accounts[-1]  # an unlocked anvil account: it takes eth_sendTransaction
    hub = hub_chain.w3.to_checksum_address(hub_address())
    before = hub_chain.w3.eth.get_balance(hub)
    calls: list[str] = []
    console_errors: list[str] = []

    with daphne_server(tmp_path, chain=hub_chain) as base, chromium_page(console_errors) as page:
        sign_in(page, base, owner.username)
        dashboard = page.context.new_page()
        dashboard.goto(f"{base}/dashboard/invoices/{invoice.public_id}/")
        expect(dashboard.locator("#invoice-state")).to_have_attribute("data-state", "open")

        shop = page.context.browser.new_context(viewport={"width": 1280, "height": 900})
        checkout = shop.new_page()
        checkout.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
        checkout.on("pageerror", lambda e: console_errors.append(str(e)))
        checkout.expose_function("__walletRpc", wallet_rpc(hub_chain, shopper, calls))
        checkout.add_init_script(PROVIDER)
        checkout.goto(f"{base}/pay/{invoice.public_id}")

        expect(checkout.get_by_role("heading", name="Harbour Coffee")).to_be_visible()
        expect(checkout.locator("#due-amount")).to_have_text("0.025 ETH")
        expect(checkout.locator("#status-text")).to_have_text("Waiting for payment")
        expect(checkout.get_by_role("heading", name="Pay from a payment channel")).to_be_visible()
        expect(checkout.locator("#receipt")).to_be_hidden()
        screenshot(checkout, "checkout-wallet-1280-open")
        checkout.set_viewport_size({"width": 390, "height": 844})
        screenshot(checkout, "checkout-wallet-390-open")
        checkout.set_viewport_size({"width": 1280, "height": 900})

        checkout.get_by_role("button", name="Pay 0.025 ETH with my wallet").click()
        expect(checkout.locator("#wallet-message")).to_contain_text("Payment sent", timeout=20_000)
        assert calls[:2] == ["eth_requestAccounts", "eth_chainId"] and "eth_sendTransaction" in calls
        # made out to the hub, which holds it for the merchant (custodial balance)
        assert hub_chain.w3.eth.get_balance(hub) - before == ETH // 40

        # the hub ingests the event once it has its confirmation (what the worker's periodic job does)
        events_poll()
        assert Invoice.objects.get(pk=invoice.pk).state == Invoice.State.OPEN
        hub_chain.mine()
        deadline = time.monotonic() + 30
        while Invoice.objects.get(pk=invoice.pk).state != Invoice.State.PAID:
            assert time.monotonic() < deadline, "the invoice was not credited"
            events_poll()

        expect(checkout.locator("#status-text")).to_have_text("Paid — thank you", timeout=15_000)
        expect(checkout.locator("#receipt")).to_be_visible()
        expect(checkout.locator("#receipt-amount")).to_have_text("0.025 ETH")
        expect(checkout.locator("#pay-options")).to_be_hidden()
        expect(checkout.get_by_role("link", name="Return to Harbour Coffee")).to_have_attribute(
            "href", "https://shop.example/thanks?order=HC-1042")
        expect(dashboard.locator("#invoice-state")).to_have_attribute("data-state", "paid", timeout=15_000)
        assert merchant_balance(merchant.pk)["custodial"]["wei"] == ETH // 40
        screenshot(checkout, "checkout-wallet-1280-paid")
        checkout.set_viewport_size({"width": 390, "height": 844})
        screenshot(checkout, "checkout-wallet-390-paid")
        shop.close()
    assert console_errors == []


def test_a_token_invoice_is_approved_then_paid_from_the_wallet(
    hub_chain: ChainEnv, settings: Any, tmp_path: Path,
) -> None:
    from hub.chain.deploy import contract_at, mint_tokens

    settings.CONFIRMATIONS = 0
    shop_address = Account.create().address.lower()
    merchant = merchant_create(name="Token Bakery", addresses=[shop_address])
    invoice = invoice_create(merchant_id=merchant.pk, amount=12 * 10**18, asset="token")
    shopper = list(hub_chain.w3.eth.accounts)[-2]
    mint_tokens(hub_chain.w3, hub_chain.hub, hub_chain.deployment.token, shopper, 20 * 10**18)
    token = contract_at(hub_chain.w3, "SpokeTestToken", hub_chain.deployment.token)
    calls: list[str] = []
    console_errors: list[str] = []

    with daphne_server(tmp_path, chain=hub_chain) as base, chromium_page(console_errors) as page:
        page.expose_function("__walletRpc", wallet_rpc(hub_chain, shopper, calls))
        page.add_init_script(PROVIDER)
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(f"{base}/pay/{invoice.public_id}")
        page.get_by_role("button", name="Pay 12 SPD with my wallet").click()
        expect(page.locator("#wallet-message")).to_contain_text("Payment sent", timeout=20_000)
        assert calls.count("eth_sendTransaction") == 2  # the exact allowance, then the payment
        assert token.functions.balanceOf(hub_chain.w3.to_checksum_address(shop_address)).call() == 0
        deadline = time.monotonic() + 30
        while Invoice.objects.get(pk=invoice.pk).state != Invoice.State.PAID:
            assert time.monotonic() < deadline, "the invoice was not credited"
            events_poll()
        expect(page.locator("#status-text")).to_have_text("Paid — thank you", timeout=15_000)
        expect(page.locator("#receipt-amount")).to_have_text("12 SPD")
        assert merchant_balance(merchant.pk)["custodial"]["token"] == 12 * 10**18  # held for the bakery
        screenshot(page, "checkout-wallet-390-token-paid")
    assert console_errors == []
