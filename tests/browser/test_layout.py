"""Every dashboard page, the checkout page and the link page, at a desktop (1280 px) and a phone
(390 px) width, in headless Chromium: nothing scrolls sideways (document scroll width within the
viewport) and axe-core finds no serious or critical accessibility violation. Full-page
screenshots of each page at both widths land in artifacts/screenshots/layout/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from config import dashboard_urls
from tests.browser.dashboard_server import (
    WIDTHS,
    axe_serious,
    chromium_page,
    daphne_server,
    fits_width,
    overflowing,
    screenshot,
)
from tests.browser.test_dashboard import sign_in
from tests.browser.world import build_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _browser_env(monkeypatch: pytest.MonkeyPatch, settings: Any, tmp_path: Path) -> Iterator[None]:
    """Playwright's sync API runs an event loop in this thread (the ORM calls stay synchronous);
    the hub key that signed the test payments is the configured one (settlements queue a hub
    transaction)."""
    from django.core.cache import cache

    from tests.chain_env import clear_chain_caches
    from tests.dashboard.helpers import HUB_KEY

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    cache.clear()
    key_file = tmp_path / "hub.key"
    key_file.write_text(HUB_KEY.hex())
    settings.HUB_PRIVATE_KEY_FILE = key_file
    settings.HUB_KEYSTORE_FILE = None
    clear_chain_caches()
    yield
    clear_chain_caches()

# dashboard routes that are not pages of their own (and why)
NOT_PAGES = {
    "login_totp": "the second sign-in step (needs a half-done sign-in; the sign-in page is checked)",
    "login_enroll": "authenticator set-up at first sign-in (the security page renders the same parts)",
    "logout": "POST only", "switch": "POST only", "events": "JSON", "payment_receipt": "JSON download",
    "settlement_report": "CSV download",
    "refund_create": "POST only", "link_create": "POST only", "link_cancel": "POST (its confirm page is checked)",
    "link_created": "shown once after creating a link (covered by the link journey)",
    "settlement_request": "POST only", "settlement_rule": "POST only", "api_key_create": "POST only",
    "api_key_revoke": "POST only", "api_key_roll": "POST (its confirm page is checked)",
    "webhook_create": "POST only", "webhook_redeliver": "POST only", "invite": "POST only",
    "invitation_revoke": "POST only", "invitation": "a public invitation page (needs a token)",
    "member_role": "POST only", "member_remove": "POST only", "proof_download": "JSON download",
    "webhook_update": "POST only", "webhook_delete": "POST only", "webhook_rotate": "POST only",
    "webhook_test": "POST only", "invoice_void": "POST (its confirmation is checked in the setup journey)",
    "invoice_refund_excess": "POST (its confirmation is checked in tests/dashboard/test_lists.py)",
    "time_zone": "POST only",
}
PAGE_ROUTES = {"home": "home", "payments": "payments", "payment": "payment", "invoices": "invoices",
               "invoice_new": "invoice-new", "invoice": "invoice", "links": "links", "refunds": "refunds",
               "settlements": "settlements", "settlement": "settlement",
               "api_keys": "api-keys", "webhooks": "webhooks", "webhook": "webhook",
               "team": "team", "audit": "audit", "export": "export", "security": "security", "proof": "proof",
               "liquidity": "liquidity"}


def test_the_sweep_covers_every_dashboard_page() -> None:
    names = {str(p.name) for p in dashboard_urls.urlpatterns if getattr(p, "name", None)}
    unlisted = sorted(n for n in names if n not in NOT_PAGES and n not in PAGE_ROUTES and n != "login")
    assert unlisted == [], f"dashboard routes neither swept nor excused: {unlisted}"


def _open_everything(page: Any) -> None:
    """Open the expandable details (a delivery's request and response) and the phone menu:
    the widest the page gets."""
    page.evaluate("document.querySelectorAll('details:not(.account)').forEach(d => d.open = true)")


def test_every_page_fits_a_phone_and_a_desktop_with_no_serious_accessibility_violation(tmp_path: Path) -> None:
    world = build_world()
    console_errors: list[str] = []
    too_wide: list[str] = []
    violations: list[str] = []
    pages = [(f"dashboard-{name}", path) for name, path in world.pages.items()]
    pages += [("checkout", f"/pay/{world.invoice.public_id}"),
              ("link", f"/l/{world.link.public_id}#{world.link_secret}"), ("card", "/card/")]

    with daphne_server(tmp_path) as base, chromium_page(console_errors, bypass_csp=True) as page:
        page.goto(f"{base}/dashboard/login/")
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 860})
            page.goto(f"{base}/dashboard/login/")
            violations += [f"sign-in@{width}: {v}" for v in axe_serious(page)]
            scroll, inner = fits_width(page)
            if scroll > inner:
                too_wide.append(f"sign-in@{width}: {scroll} > {inner}")
            screenshot(page, f"layout/sign-in-{width}")
        sign_in(page, base, world.owner.username)
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 860})
            for name, path in pages:
                response = page.goto(f"{base}{path}")
                assert response is not None and response.status == 200, (name, response and response.status)
                page.wait_for_load_state("load")
                _open_everything(page)
                scroll, inner = fits_width(page)
                if scroll > inner:
                    too_wide.append(f"{name}@{width}: {scroll} > {inner}: {overflowing(page)}")
                violations += [f"{name}@{width}: {v}" for v in axe_serious(page)]
                screenshot(page, f"layout/{name}-{width}")
    assert too_wide == [], "pages wider than the window:\n" + "\n".join(too_wide)
    assert violations == [], "accessibility:\n" + "\n".join(violations)
    assert console_errors == []
