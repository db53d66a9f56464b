"""A shopper pays a checkout from a payment channel, the way the checkout page offers it: the
page's "Pay from a payment channel" shows the SDK call with this page's URL; run with a funded
channel (the SDK against the page's own server), it pays what is due off-chain, and the checkout
page and the merchant's dashboard turn paid by themselves (no reload)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from playwright.sync_api import expect

from payments.balances.selectors import merchant_balance
from payments.events.models import Event
from payments.invoices.models import Invoice
from payments.invoices.services import invoice_create
from payments.merchants.services import merchant_create
from tests.browser.dashboard_server import chromium_page, daphne_server, screenshot
from tests.browser.test_dashboard import sign_in
from tests.chain_env import ETH, ChainEnv
from tests.dashboard.helpers import make_user
from tests.e2e.test_connext_client_flows import chain_poller  # noqa: F401  (fixture)
from tests.hub.api.test_channel_flows import set_rate

pytestmark = [pytest.mark.browser, pytest.mark.chain, pytest.mark.django_db(transaction=True)]


def shopper_channel(env: ChainEnv, base: str, tmp_path: Path) -> Any:
    """A shopper's SDK wallet with 0.1 ETH in a fresh channel, talking to the page's server."""
    from spoke_client import Channel, ChannelManagerClient, HubClient, JsonFileStateStore, UserKey

    account = env.new_user(eth=ETH)
    key = UserKey("0x" + bytes(account.key).hex())
    hub = HubClient(f"{base}/api/hub", key)
    config = hub.config()
    chain = ChannelManagerClient.from_url(env.rpc_url, config["contractAddress"], account=key.account,
                                          token_address=config["tokenAddress"])
    channel = Channel(hub, store=JsonFileStateStore(str(tmp_path / "wallet.json")), chain=chain, config=config)
    channel.sync()
    channel.deposit(amount_wei=ETH // 10)
    return channel


def test_a_shopper_pays_from_a_channel_as_the_page_says_and_both_pages_turn_paid(
        hub_chain: ChainEnv, chain_poller: None, tmp_path: Path) -> None:  # noqa: F811
    set_rate("200")
    owner = make_user("owner-channel-checkout")
    shop_address = Account.create().address.lower()
    merchant = merchant_create(name="Canal Books", owner=owner, addresses=[shop_address])
    invoice = invoice_create(merchant_id=merchant.pk, amount=ETH // 50, asset="wei",
                             description="A used atlas", order_id="CB-77",
                             success_url="https://books.example/done?order=CB-77")
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
        checkout.goto(f"{base}/pay/{invoice.public_id}")
        expect(checkout.locator("#status-text")).to_have_text("Waiting for payment")
        option = checkout.locator("#option-channel")
        expect(option.get_by_role("heading", name="Pay from a payment channel")).to_be_visible()
        snippet = option.locator("pre code").inner_text()
        assert snippet == f'client.pay_invoice("{base}/pay/{invoice.public_id}")'

        channel = shopper_channel(hub_chain, base, tmp_path)
        exec(snippet, {"client": channel})  # what the page tells the shopper to run, as shown

        expect(checkout.locator("#status-text")).to_have_text("Paid — thank you", timeout=20_000)
        expect(checkout.locator("#receipt")).to_be_visible()
        expect(checkout.locator("#receipt-amount")).to_have_text("0.02 ETH")
        expect(checkout.locator("#pay-options")).to_be_hidden()
        expect(checkout.get_by_role("link", name="Return to Canal Books")).to_have_attribute(
            "href", "https://books.example/done?order=CB-77")
        expect(dashboard.locator("#invoice-state")).to_have_attribute("data-state", "paid", timeout=20_000)
        screenshot(checkout, "checkout-channel-1280-paid")
        shop.close()

    invoice.refresh_from_db()
    assert (invoice.state, invoice.amount_received) == (Invoice.State.PAID, ETH // 50)
    assert channel.state.balance_wei_user == ETH // 10 - ETH // 50
    assert merchant_balance(merchant.pk)["custodial"]["wei"] == ETH // 50  # no channel: held for it
    assert Event.objects.filter(merchant=merchant, type="payment.succeeded").count() == 1
    assert console_errors == []
