"""In Chromium: a live refresh of a dashboard section never trips the Content Security Policy.

htmx carries some attributes of a refreshed element over while it settles, with setAttribute. A
`style` attribute copied that way is an inline style, which `style-src 'self'` blocks and reports.
The pages never write one, but a browser tool can leave an empty one behind (Playwright's
screenshots do, on the focused input: that made tests/browser/test_dashboard.py fail now and then
when a push arrived after a screenshot). The dashboard's htmx config settles no `style`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from payments.merchants.services import merchant_create
from tests.browser.dashboard_server import chromium_page, daphne_server
from tests.browser.test_dashboard_once import sign_in
from tests.dashboard.helpers import make_payment, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ETH = 10**18


@pytest.fixture(autouse=True)
def _sync_playwright_in_tests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(autouse=True)
def _fresh_signin_counters() -> None:
    from django.core.cache import cache

    cache.clear()


def test_a_refresh_over_elements_with_a_leftover_style_attribute_breaks_no_policy(tmp_path: Path) -> None:
    owner = make_user("owner-refresh-csp")
    address = Account.create().address.lower()
    merchant_create(name="Refresh Books", owner=owner, addresses=[address])
    make_payment(address, wei=ETH)
    console_errors: list[str] = []

    with daphne_server(tmp_path) as base, chromium_page(console_errors) as page:
        sign_in(page, base, owner.username)
        page.goto(f"{base}/dashboard/payments/")
        page.wait_for_selector("#payments-list", state="attached")
        # what a screenshot tool leaves behind: an empty style attribute on elements with an id
        # inside the live sections (set through the CSSOM, which the policy allows)
        marked = page.evaluate("""() => {
            const found = [...document.querySelectorAll('[hx-trigger] [id], [hx-trigger][id]')];
            for (const el of found) { el.style.caretColor = 'transparent'; el.style.caretColor = ''; }
            return found.filter(el => el.getAttribute('style') === '').length;
        }""")
        assert marked > 0
        page.evaluate("""() => new Promise(resolve => {
            let pending = document.querySelectorAll('[hx-trigger]').length;
            document.body.addEventListener('htmx:afterSettle', () => { if (--pending === 0) resolve(); });
            window.htmx.trigger(document.body, 'spoke:refresh');
        })""")
        refreshed: Any = page.evaluate("document.querySelectorAll('[hx-trigger]').length")
        assert refreshed > 0

    assert console_errors == [], "\n".join(console_errors)
