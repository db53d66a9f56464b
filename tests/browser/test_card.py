"""The Spoke Card (/card/) in Chromium, several browser contexts (each its own browser storage,
so its own key): card A is funded by ETH sent to its address from an anvil account and ends with
tokens in its channel; card B makes a request QR that A scans from a picture and pays at once; A
pays a merchant's checkout and the invoice turns paid; A sends a link that a fresh context C (no
wallet, no card) redeems into a new card from the link page; C cashes out to an address and the
ETH arrives on chain; A's recovery phrase restores A in a new context with its balance; A's
exported state loads in the Python SDK's exit tooling. Screens at 1280 and 390 px go to
artifacts/screenshots/ (card-*)."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from eth_account import Account
from playwright.sync_api import expect
from spoke_client import JsonFileStateStore, exit_args
from web3 import Web3

from hub.chain.deploy import send_eth
from hub.chain.ingest import events_poll
from linkpay.models import Link
from linkpay.services import link_redemptions_complete
from payments.invoices.models import Invoice
from payments.invoices.services import invoice_create
from payments.merchants.services import merchant_create
from tests.browser.dashboard_server import CHROMIUM_ARGS, SCREENSHOTS, axe_serious, daphne_server
from tests.chain_env import ETH, TOKEN, ChainEnv
from tests.hub.api.test_channel_flows import run_hub_transactions, set_rate

pytestmark = [pytest.mark.browser, pytest.mark.chain, pytest.mark.deposit_collateral,
              pytest.mark.django_db(transaction=True)]

SLOW = 90_000  # ms: a step that waits for blocks, the hub's worker and a busy 2-core machine


@pytest.fixture(autouse=True)
def _async_unsafe(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    yield


@contextmanager
def chain_worker(env: ChainEnv) -> Iterator[None]:
    """What the worker and its scheduler do in production: send the hub's transactions, ingest
    events, pay link redemptions whose collateral arrived (`complete_link_redemptions`)."""
    stop = threading.Event()

    def loop() -> None:
        try:
            while not stop.wait(0.3):
                run_hub_transactions()
                events_poll()
                link_redemptions_complete()
        finally:
            connection.close()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(15)


def shots(page: Any, name: str) -> None:
    """The page at 1280 and at 390 px (the phone), and back; no serious accessibility violation
    (axe-core) on the screen."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    assert axe_serious(page) == [], name
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(SCREENSHOTS / f"card-{name}-1280.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"{name}: the page scrolls sideways at 390 px"
    page.screenshot(path=str(SCREENSHOTS / f"card-{name}-390.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def tokens_shown(page: Any) -> float:
    return float(page.locator("#balance-token").inner_text())


def new_card(browser: Any, base: str, errors: list[str]) -> Any:
    # bypass_csp: only so that axe-core can be injected (shots); the page's own scripts are the same
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True,
                                  bypass_csp=True)
    page = context.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and not _expected(m.text)
            else LOG.append(m.text))
    page.on("response", lambda r: REFUSED.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return page


LOG: list[str] = []  # the pages' other console lines, shown when a test fails
REFUSED: list[str] = []  # every 4xx/5xx answer the pages got
# A card asks whether a payee has a channel (GET channel/<payee>): "no" is a 404, which Chromium
# reports on the console; every such answer is checked below to be that question.
NOT_FOUND = "Failed to load resource: the server responded with a status of 404 (Not Found)"


def _expected(text: str) -> bool:
    # and what Chromium says while the test has taken the network away (the offline step)
    return text == NOT_FOUND or "ERR_INTERNET_DISCONNECTED" in text


def create(page: Any, base: str, name: str | None = None) -> str:
    page.goto(f"{base}/card/")
    expect(page.get_by_role("heading", name="A wallet in this browser")).to_be_visible()
    if name:
        shots(page, name)
    page.get_by_role("button", name="Create my card").click()
    expect(page.locator("#screen-home")).to_be_visible()
    expect(page.locator("#live")).to_have_attribute("data-state", "live", timeout=30_000)
    address = page.locator("#home-address").inner_text()
    assert re.fullmatch(r"0x[0-9a-f]{40}", address)
    return address


def test_the_card_journey(hub_chain: ChainEnv, settings: Any, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    env = hub_chain
    settings.CONFIRMATIONS = 0  # the chain worker below ingests events as soon as they are mined
    set_rate("200")
    errors: list[str] = []
    shop_address = Account.create().address.lower()
    merchant = merchant_create(name="Harbour Coffee", addresses=[shop_address])
    invoice = invoice_create(merchant_id=merchant.pk, amount=3 * TOKEN // 2, asset="token",
                             description="A flat white", order_id="HC-7")
    shop_address = Account.create().address.lower()
    merchant = merchant_create(name="Harbour Coffee", addresses=[shop_address])
    invoice = invoice_create(merchant_id=merchant.pk, amount=3 * TOKEN // 2, asset="token",
                             description="A flat white", order_id="HC-7")

    with daphne_server(tmp_path, chain=env) as base, sync_playwright() as p, chain_worker(env):
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        try:
            # --- A: a new card, funded by ETH sent to its address ---------------------------------
            a = new_card(browser, base, errors)
            sockets: list[str] = []
            a.on("websocket", lambda ws: sockets.append(ws.url))
            a_address = create(a, base, "welcome")
            shots(a, "home-empty")
            a.get_by_role("button", name="Add money").click()
            expect(a.locator("#fund-address")).to_have_text(a_address)
            expect(a.locator("#fund-qr img")).to_be_visible()
            shots(a, "fund")
            send_eth(env.w3, env.funder, Web3.to_checksum_address(a_address), ETH // 10)
            a.get_by_role("button", name="Back").click()
            # deposit (gas paid from the amount), ConfirmPending, then the exchange to tokens
            expect(a.locator("#balance-token")).not_to_have_text("0", timeout=SLOW)
            expect(a.locator("#balance-wei")).to_have_text("0", timeout=SLOW)
            a_tokens = tokens_shown(a)
            # the card follows its channel over the hub's per-user WebSocket, signed like the API
            assert any(re.search(rf"/ws/channel/\?address={a_address}&nonce=.+&signature=0x", u) for u in sockets), sockets
            assert 19 < a_tokens <= 20  # 0.1 ETH less gas at 200 SPD/ETH
            shots(a, "home-funded")

            # --- A: the recovery phrase and the exported state -------------------------------------
            a.get_by_role("button", name="Key & backup").click()
            a.get_by_role("button", name="Show my recovery phrase").click()
            phrase = a.locator("#phrase").inner_text()
            assert len(phrase.split()) == 12
            shots(a, "key")
            with a.expect_download() as download:
                a.get_by_role("button", name="Export my signed state").click()
            exported = tmp_path / "card-a.json"
            download.value.save_as(exported)
            record = JsonFileStateStore(exported).load(env.deployment.channel_manager, a_address)
            assert record is not None and record.exitable is not None
            assert record.state.balance_token_user == int(a_tokens * 100) * TOKEN // 100 or record.state.balance_token_user > 0
            args = exit_args(record.exitable)  # what startExitWithUpdate takes, both signatures included
            assert args["sigHub"] and args["sigUser"] and args["tokenBalances"][1] == record.exitable.balance_token_user

            # --- B makes a request; A scans its QR from a picture and pays at once -----------------
            b = new_card(browser, base, errors)
            b_address = create(b, base)
            b.get_by_role("button", name="Request").click()
            b.fill("#request-amount", "2")
            b.get_by_role("button", name="Show the request").click()
            expect(b.locator("#request-qr img")).to_be_visible()
            shots(b, "request")
            qr_picture = tmp_path / "request-qr.png"
            b.locator("#request-qr img").screenshot(path=str(qr_picture))

            a.get_by_role("button", name="Back").click()
            a.get_by_role("button", name="Pay", exact=True).click()
            a.set_input_files("#scan-file", str(qr_picture))
            expect(a.locator("#pay-summary")).to_contain_text(f"Pay 2 SPD to {b_address}", timeout=20_000)
            shots(a, "pay-confirm")
            a.get_by_role("button", name="Pay now").click()
            expect(a.locator("#pay-status")).to_have_text("Paid 2 SPD.", timeout=30_000)
            # B has no channel yet: the hub holds it for B, and B's card shows it
            expect(b.locator("#balance-custodial")).to_have_text("2", timeout=30_000)
            shots(b, "home-paid")

            # --- A pays a merchant's checkout; the invoice turns paid -----------------------------
            a.fill("#pay-target", f"{base}/pay/{invoice.public_id}")
            a.get_by_role("button", name="Continue").click()
            expect(a.locator("#pay-summary")).to_have_text(f"Pay invoice {invoice.public_id}: 1.5 SPD.")
            a.get_by_role("button", name="Pay now").click()
            expect(a.locator("#pay-status")).to_have_text("Paid 1.5 SPD.", timeout=30_000)
            invoice.refresh_from_db()
            assert invoice.state == Invoice.State.PAID

            # --- A sends a link; C (no wallet, no card) redeems it into a new card ----------------
            a.get_by_role("button", name="Back").click()
            a.get_by_role("button", name="Send a link").click()
            a.fill("#link-amount", "3")
            a.get_by_role("button", name="Make the link").click()
            expect(a.locator("#link-status")).to_have_text("Link made for 3 SPD.", timeout=30_000)
            link_url = a.locator("#link-url").inner_text()
            assert re.fullmatch(rf"{base}/l/lnk_[0-9a-f]{{24}}#0x[0-9a-f]{{64}}", link_url), link_url
            secret = link_url.split("#", 1)[1]
            link = Link.objects.get(public_id=link_url.split("/l/")[1].split("#")[0])
            assert link.secret_hash != secret[2:]  # only the secret's hash reached the hub
            shots(a, "link")

            c = new_card(browser, base, errors)
            requests: list[str] = []
            c.on("request", lambda r: requests.append(r.url + " " + (r.post_data or "")))
            c.goto(link_url)
            offer = c.get_by_role("link", name="Redeem into a Spoke Card")
            expect(offer).to_be_visible()
            shots(c, "link-page")
            offer.click()
            expect(c.locator("#screen-welcome")).to_contain_text("Someone sent you money as a link")
            c.get_by_role("button", name="Create my card").click()
            expect(c.get_by_role("heading", name="Money for you")).to_be_visible(timeout=30_000)
            shots(c, "redeem")
            c.get_by_role("button", name="Redeem into my card").click()
            expect(c.locator("#redeem-status")).to_contain_text("Redeemed", timeout=30_000)
            c.get_by_role("button", name="Back").click()
            expect(c.locator("#balance-token")).to_have_text("3", timeout=SLOW)  # via the hub's collateral
            shots(c, "home-redeemed")
            assert not any(secret[2:] in url.split(" ")[0] for url in requests)  # never in a URL

            # --- C cashes out to an address as ETH, at the rate it was shown ----------------------
            payee = Account.create().address
            c.get_by_role("button", name="Cash out").click()
            c.fill("#cashout-address", payee)
            c.get_by_role("button", name="Continue").last.click()
            expect(c.locator("#cashout-summary")).to_have_text(f"Send 0.015 ETH to {payee}.")
            expect(c.locator("#cashout-rate")).to_contain_text("1 ETH = 200 SPD")
            shots(c, "cashout-confirm")
            c.get_by_role("button", name="Cash out now").click()
            expect(c.locator("#cashout-status")).to_contain_text("On its way", timeout=30_000)
            deadline = time.monotonic() + SLOW / 1000
            while env.w3.eth.get_balance(payee) != 15 * ETH // 1000:
                assert time.monotonic() < deadline, "the cash-out did not arrive on chain"
                time.sleep(0.5)
            c.get_by_role("button", name="Back").click()
            expect(c.locator("#balance-token")).to_have_text("0", timeout=SLOW)

            # --- D: A's phrase restores A in a new browser, balance included ------------------------
            d = new_card(browser, base, errors)
            d.goto(f"{base}/card/")
            d.get_by_text("I have a recovery phrase").click()
            d.fill("#restore-phrase-welcome", phrase)
            d.get_by_role("button", name="Restore my card").click()
            expect(d.locator("#home-address")).to_have_text(a_address, timeout=30_000)
            expect(d.locator("#balance-token")).to_have_text(a.locator("#balance-token").inner_text(), timeout=30_000)
            shots(d, "restored")

            # --- offline first: with no network the card opens (service worker) on its last state --
            balance = d.locator("#balance-token").inner_text()
            d.wait_for_function("""async () => {
                const cache = await caches.open("spoke-card-v1");
                return !!(await cache.match("/card/")) && !!(await cache.match("/static/card/card.js"));
            }""", timeout=30_000, polling=500)
            d.context.set_offline(True)
            d.reload()
            expect(d.locator("#live")).to_have_attribute("data-state", "offline", timeout=30_000)
            expect(d.locator("#balance-token")).to_have_text(balance)
            shots(d, "offline")
            d.context.set_offline(False)
            expect(d.locator("#live")).to_have_attribute("data-state", "live", timeout=30_000)
        except BaseException:
            print("console:", *LOG[-40:], sep="\n  ")
            print("errors:", *errors, sep="\n  ")
            for page in [c.pages[0] for c in browser.contexts if c.pages]:
                try:
                    _diagnose(env, page)
                except Exception as exc:  # a page the network was taken from: say so and go on
                    print(page.url, "not readable:", exc)
            raise
        finally:
            browser.close()
    assert errors == []
    assert all(re.fullmatch(r"404 http://localhost:\d+/api/hub/channel/0x[0-9a-f]{40}", r) for r in REFUSED), REFUSED


def _diagnose(env: ChainEnv, page: Any) -> None:
    print(page.url, page.locator(".note, #error").all_inner_texts())
    stored = json.loads(page.evaluate("localStorage.getItem('spoke-card:v1')") or "null") or {}
    print(json.dumps({k: stored.get(k) for k in ("record", "requests", "autoExchange")}, indent=1)[:3000])
    address = stored.get("address")
    if address:
        from hub.channels.models import ChannelUpdate
        print([(u.reason, u.tx_count_global, bool(u.sig_user)) for u in ChannelUpdate.objects.filter(
            channel__user=address).order_by("id")])
        for block in range(env.w3.eth.block_number + 1):
            for tx in env.w3.eth.get_block(block, full_transactions=True)["transactions"]:
                if str(tx["from"]).lower() == address:
                    print("tx", block, env.w3.eth.get_transaction_receipt(tx["hash"])["status"], tx["gas"])


# An EIP-1193 provider answered from Python: accounts are the test's unlocked anvil account,
# everything else goes to anvil (tests/browser/test_checkout_wallet.py does the same).
PROVIDER = """
window.ethereum = {
  request: async function (args) {
    const answer = JSON.parse(await window.__walletRpc(args.method, JSON.stringify(args.params || [])));
    if (answer.error) { const e = new Error(answer.error.message); e.code = answer.error.code; throw e; }
    return answer.result;
  },
  on: function () {}, removeListener: function () {},
};
"""


def test_a_card_is_funded_from_an_injected_browser_wallet(hub_chain: ChainEnv, settings: Any,
                                                          tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    env = hub_chain
    settings.CONFIRMATIONS = 0
    set_rate("200")
    errors: list[str] = []
    payer = list(env.w3.eth.accounts)[-3]  # unlocked: it takes eth_sendTransaction
    calls: list[str] = []

    def wallet_rpc(method: str, params_json: str) -> str:
        calls.append(method)
        if method in ("eth_requestAccounts", "eth_accounts"):
            return json.dumps({"result": [payer]})
        answer = env.w3.provider.make_request(method, json.loads(params_json))  # type: ignore[arg-type]
        return json.dumps({"result": answer.get("result"), "error": answer.get("error")})

    with daphne_server(tmp_path, chain=env) as base, sync_playwright() as p, chain_worker(env):
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        try:
            page = new_card(browser, base, errors)
            page.expose_function("__walletRpc", wallet_rpc)
            page.add_init_script(PROVIDER)
            create(page, base)
            page.get_by_role("button", name="Add money").click()
            page.fill("#wallet-amount", "0.05")
            page.get_by_role("button", name="Send from my browser wallet").click()
            expect(page.locator("#wallet-status")).to_contain_text("Sent", timeout=30_000)
            shots(page, "fund-wallet")
            page.get_by_role("button", name="Back").click()
            # the wallet sent 0.05 ETH to the card, which deposited it less gas and exchanged it
            expect(page.locator("#balance-token")).not_to_have_text("0", timeout=SLOW)
            expect(page.locator("#balance-wei")).to_have_text("0", timeout=SLOW)
            assert 9.5 < tokens_shown(page) <= 10  # 0.05 ETH less gas at 200 SPD/ETH
            assert calls[:2] == ["eth_requestAccounts", "eth_chainId"] and "eth_sendTransaction" in calls
        finally:
            browser.close()
    assert errors == []
