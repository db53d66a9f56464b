"""A merchant refunds part of a payment, then the rest, in Chromium: a confirmation names the
amount and the payer before anything happens, errors speak ETH, the payment reads "Partially
refunded" then "Refunded", the status filter finds it and the CSV carries the refunded amount.
The refunds are executed by the worker's own sweep (the hub pays the payer back in its channel)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from eth_account import Account

from hub.channels.models import Channel
from payments.merchants.services import merchant_create
from payments.refunds.execution import refunds_sweep
from payments.refunds.models import Refund
from tests.browser.dashboard_server import chromium_page, daphne_server, messages, screenshot
from tests.browser.test_dashboard import sign_in
from tests.dashboard.helpers import make_payment, make_user, set_rate

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ETH = 10**18


@pytest.fixture(autouse=True)
def _browser_env(monkeypatch: pytest.MonkeyPatch, settings: Any, tmp_path: Path) -> Iterator[None]:
    from django.core.cache import cache

    from tests.chain_env import clear_chain_caches
    from tests.dashboard.helpers import CONTRACT, HUB_KEY

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    cache.clear()
    key_file = tmp_path / "hub.key"
    key_file.write_text(HUB_KEY.hex())
    settings.HUB_PRIVATE_KEY_FILE = key_file  # the hub key that countersigned the test payments
    settings.HUB_KEYSTORE_FILE = None
    settings.CHANNEL_MANAGER_ADDRESS = CONTRACT  # the contract the test channels' states name
    clear_chain_caches()
    yield
    clear_chain_caches()


def sweep_refunds() -> int:
    """What the worker's periodic job does."""
    return refunds_sweep()


def test_a_partial_then_a_full_refund_is_confirmed_shown_filtered_and_exported(tmp_path: Path) -> None:
    set_rate("2000", timezone.now() - timedelta(days=1))
    owner = make_user("owner-refunds")
    address = Account.create().address.lower()
    merchant_create(name="Refund Roasters", owner=owner, addresses=[address])
    payment = make_payment(address, wei=ETH // 2, meta={"orderId": "R-1"})
    # the payer's channel is at the state that carried the payment: the hub holds the 0.5 ETH there
    Channel.objects.filter(pk=payment.payer_update.channel_id).update(latest_update=payment.payer_update)
    detail = f"/dashboard/payments/{payment.public_id}/"
    console_errors: list[str] = []
    dialogs: list[str] = []

    def answer(accept: bool) -> Any:
        def handle(dialog: Any) -> None:
            dialogs.append(dialog.message)
            dialog.accept() if accept else dialog.dismiss()
        return handle

    with daphne_server(tmp_path) as base, chromium_page(console_errors) as page:
        sign_in(page, base, owner.username)
        page.goto(base + detail)
        form = page.locator("#refund-form")

        # dismissing the confirmation does nothing
        page.once("dialog", answer(False))
        form.get_by_label("Amount").fill("0.1")
        form.get_by_role("button", name="Refund to the payer").click()
        page.wait_for_timeout(300)  # a dismissed confirm leaves the page as it is (nothing to wait for)
        assert dialogs == [f"Refund 0.1 ETH to the payer {payment.sender}? Money sent back cannot be recalled."]
        dialogs.clear()
        assert not Refund.objects.exists()

        # more than the payment: refused in ETH, not wei
        page.once("dialog", answer(True))
        form.get_by_label("Amount").fill("0.6")
        form.get_by_role("button", name="Refund to the payer").click()
        page.wait_for_selector("[role=alert]")
        assert "at most 0.5 ETH is left to refund" in page.locator("main").inner_text()

        # a partial refund, confirmed
        page.goto(base + detail)
        page.once("dialog", answer(True))
        page.locator("#refund-form").get_by_label("Amount").fill("0.1")
        page.locator("#refund-form").get_by_role("button", name="Refund to the payer").click()
        page.wait_for_selector(".alert-ok")
        assert "of 0.1 ETH to " + payment.sender + " requested" in page.locator(".alert-ok").inner_text()
        assert sweep_refunds() == 1
        page.goto(base + detail)
        assert page.locator(".page-head .badge").inner_text() == "Partially refunded"
        assert "0.1 ETH" in page.locator("#payment-refunded").inner_text()
        assert "0.4 ETH left to refund" in page.locator("#payment-refunded").inner_text()
        screenshot(page, "refund-01-partially-refunded")

        page.goto(f"{base}/dashboard/payments/?status=partially_refunded")
        assert page.locator(f'tr[data-payment-id="{payment.public_id}"]').count() == 1
        page.goto(f"{base}/dashboard/payments/?status=completed")
        assert page.locator(f'tr[data-payment-id="{payment.public_id}"]').count() == 0

        # the rest: an empty amount refunds what is left, and the confirmation says how much
        page.goto(base + detail)
        page.once("dialog", answer(True))
        page.locator("#refund-form").get_by_role("button", name="Refund to the payer").click()
        page.wait_for_selector(".alert-ok")
        assert "all that is left (0.4 ETH)" in dialogs[-1]
        assert sweep_refunds() == 1
        page.goto(f"{base}/dashboard/payments/?status=refunded")
        row = page.locator(f'tr[data-payment-id="{payment.public_id}"]')
        assert row.count() == 1 and "Refunded" in row.inner_text()
        screenshot(page, "refund-02-refunded-filter")

        page.goto(f"{base}/dashboard/export/")
        page.get_by_label("What").select_option("payments")
        with page.expect_download() as download:
            page.get_by_role("button", name="Download CSV").click()
        rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert [(r["id"], r["status"], r["refunded"], r["refunded_base_units"]) for r in rows] == [
        (payment.public_id, "refunded", "0.5", str(ETH // 2))]
    assert sorted(int(r.amount) for r in Refund.objects.filter(state="succeeded")) == [ETH // 10, 4 * ETH // 10]
    # Chromium logs the refused refund's 400 answer itself; nothing else
    assert messages(console_errors) == ["Failed to load resource: the server responded with a status of 400 (Bad Request)"]
