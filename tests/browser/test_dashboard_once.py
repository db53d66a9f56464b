"""In Chromium: reloading the page after "link created" or "key created" repeats nothing and shows
the secret no more; an invited person joins through the link with an account of their own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from linkpay.models import Link
from payments.apikeys.models import ApiKey
from payments.merchants.models import Membership
from payments.merchants.services import merchant_create
from tests.browser.dashboard_server import chromium_page, daphne_server, messages, screenshot
from tests.dashboard.helpers import PASSWORD, make_payment, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ETH = 10**18


@pytest.fixture(autouse=True)
def _sync_playwright_in_tests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(autouse=True)
def _fresh_signin_counters() -> None:
    from django.core.cache import cache

    cache.clear()


def sign_in(page: Any, base: str, username: str, password: str = PASSWORD) -> None:
    page.goto(f"{base}/dashboard/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{base}/dashboard/")


def test_reloading_after_a_link_or_a_key_was_created_creates_nothing_more(tmp_path: Path) -> None:
    owner = make_user("owner-reload")
    address = Account.create().address.lower()
    merchant = merchant_create(name="Reload Books", owner=owner, addresses=[address])
    make_payment(address, wei=ETH)
    console_errors: list[str] = []

    with daphne_server(tmp_path) as base, chromium_page(console_errors) as page:
        sign_in(page, base, owner.username)
        page.goto(f"{base}/dashboard/links/")
        page.get_by_label("Amount").fill("0.1")
        page.get_by_role("button", name="Create link").click()
        page.wait_for_selector("#link-qr svg")
        secret = page.locator("#link-url").input_value().split("#", 1)[1]
        page.reload()
        page.wait_for_url(f"{base}/dashboard/links/")
        assert secret not in page.content()
        assert Link.objects.filter(merchant=merchant).count() == 1
        page.go_back()  # back to the "created" page: not shown again, nothing created
        assert secret not in page.content()
        assert Link.objects.filter(merchant=merchant).count() == 1

        page.goto(f"{base}/dashboard/api-keys/")
        page.get_by_role("button", name="Create key").click()
        page.wait_for_selector("#issued-key")
        key = page.locator("#issued-key").input_value()
        page.reload()
        page.wait_for_selector("#api-keys")
        assert page.locator("#issued-key").count() == 0 and key not in page.content()
        assert ApiKey.objects.filter(merchant=merchant).count() == 1
        screenshot(page, "15-api-keys-after-reload")
    assert console_errors == []


def test_an_invited_person_joins_with_an_account_of_their_own(tmp_path: Path) -> None:
    owner = make_user("owner-invites")
    merchant = merchant_create(name="Inviting Books", owner=owner, addresses=[Account.create().address.lower()])
    console_errors: list[str] = []

    with daphne_server(tmp_path) as base, chromium_page(console_errors) as page:
        sign_in(page, base, owner.username)
        page.goto(f"{base}/dashboard/team/")
        page.get_by_label("Email", exact=True).fill("new.colleague@example.com")
        page.get_by_label("Role", exact=True).select_option("manager")
        page.get_by_role("button", name="Send invitation").click()
        url = page.locator("#invite-url").input_value()
        assert url.startswith(f"{base}/dashboard/invitation/")
        screenshot(page, "16-team-invitation")

        invitee = page.context.browser.new_context().new_page()
        invitee.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
        invitee.goto(url)
        invitee.get_by_label("Username").fill("colleague")
        invitee.get_by_label("Choose a password").fill("a long password of mine 4")
        invitee.get_by_label("The password again").fill("a long password of mine 4")
        invitee.get_by_role("button", name="Create account and accept").click()
        invitee.wait_for_url(f"{base}/dashboard/login/")
        sign_in(invitee, base, "colleague", "a long password of mine 4")
        assert Membership.objects.get(user__username="colleague", merchant=merchant).role == "manager"
        invitee.goto(url)  # used up
        assert "cannot be used" in invitee.content()
    # Chromium logs the deliberate 404 of the used link itself; nothing else
    assert messages(console_errors) == ["Failed to load resource: the server responded with a status of 404 (Not Found)"]
