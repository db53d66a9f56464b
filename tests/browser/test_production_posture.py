"""Production posture, tested on a real daphne started with DEBUG=false (settings loaded the way a
deployment loads them, so DEBUG-dependent middleware and error handlers are the real ones):

- every error is the project's own page (404 for shoppers on checkout and link URLs too, 500, 400,
  the CSRF 403), styled from static files, with no stack trace or debug page;
- a Content-Security-Policy without 'unsafe-inline' on the dashboard, checkout, link page and admin;
- HSTS, secure and HttpOnly cookies, and the redirect to HTTPS;
- a favicon;
- and, in Chromium, the dashboard, checkout, link page and admin run under that policy without a
  single violation (the pages' scripts and styles are static files)."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from playwright.sync_api import expect

from linkpay.models import Link
from payments.apikeys.services import api_key_create
from payments.dashboard.models import TotpDevice
from payments.merchants.services import membership_set, merchant_create
from tests.browser.dashboard_server import chromium_page, daphne_server, messages
from tests.dashboard.helpers import PASSWORD, make_user, random_address
from tests.linkpay.secret_scan import register
from tests.payments.conftest import Api, credit_custodial

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HTTPS = {"X-Forwarded-Proto": "https"}  # what the TLS proxy in front of the app adds
DEBUG_MARKERS = ("Traceback", "DEBUG = True", "Django tried these URL patterns", "technical_500",
                 "Request Method:", "Using the URLconf", "settings.py")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def fetch(url: str, *, headers: dict[str, str] | None = None, data: bytes | None = None,
          ) -> tuple[int, dict[str, str], str, list[str]]:
    """(status, headers, body, Set-Cookie lines), redirects not followed."""
    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        response = opener.open(request, timeout=30)
    except urllib.error.HTTPError as exc:
        response = exc
    with response:
        body = response.read().decode(errors="replace")
        cookies = response.headers.get_all("Set-Cookie") or []
        return response.status, dict(response.headers.items()), body, cookies


def assert_strict_csp(headers: dict[str, str]) -> None:
    policy = headers.get("Content-Security-Policy", "")
    directives = dict([*part.strip().split(" ", 1), ""][:2] for part in policy.split(";") if part.strip())
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy, policy
    assert directives.get("script-src") == "'self'", policy
    assert directives.get("style-src", "").startswith("'self'"), policy
    assert directives.get("frame-ancestors") == "'none'", policy


def assert_own_error_page(status: int, body: str, expected: int, heading: str) -> None:
    assert status == expected, body[:2000]
    assert f'data-status="{expected}"' in body and heading in body, body[:2000]
    assert "/static/pages/error.css" in body and 'rel="icon"' in body
    assert "<script" not in body and "style=" not in body and "<style" not in body
    for marker in DEBUG_MARKERS:
        assert marker not in body, marker


@pytest.fixture
def content(db: Any) -> dict[str, str]:
    """An invoice (checkout page), a custodial link with its secret, a staff member of the shop
    and an operator."""
    address = random_address()
    merchant = merchant_create(name="Posture Coffee", addresses=[address])
    credit_custodial(address, "token", 10**18)
    api = Api(api_key_create(merchant_id=merchant.pk, kind="secret", name="test").plaintext)
    invoice = api.post("/api/v1/invoices", {"amount": str(10**17), "asset": "token",
                                            "description": "Two coffees"}).json()
    link = api.post("/api/v1/links", {"amount": str(10**17), "asset": "token",
                                      "note": "for you"}).json()
    staff = make_user("posture-staff")
    membership_set(merchant_id=merchant.pk, user=staff, role="staff")
    operator = get_user_model().objects.create_superuser("posture-operator", "op@example.com", PASSWORD)
    totp_secret = pyotp.random_base32()
    TotpDevice.objects.create(user=operator, secret=totp_secret)  # operators need a second factor
    return {"invoice": invoice["id"], "link": link["id"], "secret": register(link["secret"]),
            "staff": staff.username, "operator_totp": totp_secret}


@pytest.fixture
def production(tmp_path: Path) -> Iterator[str]:
    with daphne_server(tmp_path, production={}) as base:
        yield base


def test_errors_are_the_projects_own_pages_with_no_debug_output(
    production: str, content: dict[str, str]
) -> None:
    for path in ("/no-such-page", "/pay/inv_doesnotexist", "/l/lnk_" + "0" * 24, "/dashboard/nope/"):
        status, headers, body, _ = fetch(production + path, headers=HTTPS)
        assert_own_error_page(status, body, 404, "This page does not exist")
        assert_strict_csp(headers)

    status, _, body, _ = fetch(production + "/healthz", headers={**HTTPS, "Host": "evil.example"})
    assert_own_error_page(status, body, 400, "This request could not be understood")

    status, _, body, _ = fetch(production + "/dashboard/login/", headers=HTTPS,
                               data=b"username=a&password=b")
    assert_own_error_page(status, body, 403, "This form has expired")

    # A real server-side failure: the sessions table is away while a signed-in browser asks.
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE django_session RENAME TO django_session_away")
    try:
        status, _, body, _ = fetch(production + "/dashboard/",
                                   headers={**HTTPS, "Cookie": "sessionid=abcdefghijklmnopqrstuvwxyz012345"})
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE django_session_away RENAME TO django_session")
    assert_own_error_page(status, body, 500, "Something went wrong on our side")

    status, headers, body, _ = fetch(production + "/static/pages/error.css", headers=HTTPS)
    assert status == 200 and ".error-card" in body


def test_pages_carry_a_strict_policy_hsts_and_secure_cookies(
    production: str, content: dict[str, str]
) -> None:
    # the admin has no sign-in form of its own: it sends operators to the dashboard's
    status, headers, _, _ = fetch(production + "/admin/login/", headers=HTTPS)
    assert status == 302 and headers["Location"].startswith("/dashboard/login/?next=")
    for path in ("/dashboard/login/", f"/pay/{content['invoice']}", f"/l/{content['link']}"):
        status, headers, body, cookies = fetch(production + path, headers=HTTPS)
        assert status == 200, (path, body[:1000])
        assert_strict_csp(headers)
        assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert 'rel="icon"' in body or path.startswith("/admin/")
        # no inline script or style left in our pages (the admin's own are checked in Chromium)
        if not path.startswith("/admin/"):
            scripts = re.findall(r"<script\b[^>]*>", body)
            assert all(" src=" in tag or 'type="application/json"' in tag for tag in scripts), path
            assert "<style" not in body and " style=" not in body, path
        for cookie in cookies:
            assert "; Secure" in cookie, cookie
    # the link page's own, narrower policy: no form posts, nothing by default
    _, headers, _, _ = fetch(production + f"/l/{content['link']}", headers=HTTPS)
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert "form-action 'none'" in headers["Content-Security-Policy"]

    _, _, _, cookies = fetch(production + "/dashboard/login/", headers=HTTPS)
    assert any(c.startswith("csrftoken=") and "; Secure" in c for c in cookies), cookies

    # plain http is sent to https, except the health check the load balancer probes
    status, headers, _, _ = fetch(production + "/dashboard/login/")
    assert status == 301 and headers["Location"].startswith("https://")
    assert fetch(production + "/healthz")[0] in (200, 503)

    status, headers, body, _ = fetch(production + "/favicon.ico", headers=HTTPS)
    assert status == 200 and headers["Content-Type"] == "image/vnd.microsoft.icon"
    assert fetch(production + "/static/favicon.svg", headers=HTTPS)[0] == 200


def test_dashboard_checkout_link_page_and_admin_run_in_chromium_without_a_policy_violation(
    tmp_path: Path, content: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    console_errors: list[str] = []
    # The browser talks plain http to localhost here (no TLS proxy in the test), so the redirect
    # to https is off; cookies are still Secure, which Chromium accepts from localhost.
    with daphne_server(tmp_path, production={"SECURE_SSL_REDIRECT": "false"}) as base, \
            chromium_page(console_errors) as page:
        page.context.add_init_script(
            "document.addEventListener('securitypolicyviolation', e => console.error("
            "'CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sourceFile"
            " + ':' + e.lineNumber + ' on ' + location.pathname));")

        page.goto(f"{base}/dashboard/")
        page.get_by_label("Username").fill(content["staff"])
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Continue").click()
        page.wait_for_url(f"{base}/dashboard/")
        cookies = {c["name"]: c for c in page.context.cookies()}
        assert cookies["sessionid"]["secure"] and cookies["sessionid"]["httpOnly"]
        assert cookies["csrftoken"]["secure"]
        for path in ("payments/", "invoices/", "links/", f"invoices/{content['invoice']}/"):
            response = page.goto(f"{base}/dashboard/{path}")
            assert response is not None and response.status == 200, path
            assert page.locator("link[rel=stylesheet]").count() >= 1
            # the stylesheet applied: the page is laid out by dashboard.css, not the browser default
            assert page.evaluate("getComputedStyle(document.body).margin") == "0px"

        page.goto(f"{base}/pay/{content['invoice']}")
        # checkout.js ran: the status reads as words, with the amounts (the server wrote the code)
        expect(page.locator("#status-text")).to_have_text("Waiting for payment")
        expect(page.locator("#status-detail")).to_contain_text("left to pay")

        page.goto(f"{base}/l/{content['link']}#{content['secret']}")
        page.get_by_role("button", name="Show QR code").click()
        page.locator("#qr img").wait_for()  # link.js ran, and the data: image is allowed

        page.goto(f"{base}/l/{content['link']}")
        page.locator("#no-secret").wait_for()  # link.js: the missing secret is explained

        # a merchant's user is told no by the admin, not bounced between two sign-ins forever
        seen = len(console_errors)
        refused = page.goto(f"{base}/admin/login/")
        assert refused is not None and refused.status == 403
        # Chromium logs the 403 document itself as a failed load: that one is expected
        assert messages(console_errors[seen:]) == [
            "Failed to load resource: the server responded with a status of 403 (Forbidden)"]
        del console_errors[seen:]
        page.context.clear_cookies()
        page.goto(f"{base}/admin/")
        page.wait_for_url(f"{base}/dashboard/login/?next=%2Fadmin%2F")
        page.get_by_label("Username").fill("posture-operator")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Continue").click()
        page.get_by_label("6-digit code").fill(pyotp.TOTP(content["operator_totp"]).now())
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{base}/admin/")
        assert page.locator("#hub-overview").is_visible()
        for path in ("ops/alarm/", "linkpay/link/", "auth/user/add/"):
            response = page.goto(f"{base}/admin/{path}")
            assert response is not None and response.status == 200, path

        favicon = page.request.get(f"{base}/favicon.ico")  # as the browser fetches it: not a page
        assert favicon.status == 200 and favicon.body()[:4] == b"\0\0\1\0"

    assert console_errors == [], "\n".join(console_errors)
    assert Link.objects.get(public_id=content["link"]).status == Link.Status.OPEN
