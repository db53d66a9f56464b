"""The operator admin has the dashboard's sign-in protections: no sign-in form of its own, the
throttled sign-in with a second factor (mandatory for operators), and 12-hour sessions with the
idle timeout."""

from __future__ import annotations

import time

import pyotp
import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

from payments.dashboard import signin
from payments.dashboard.models import TotpDevice
from payments.dashboard.sessions import SESSION_LAST_SEEN
from tests.dashboard.helpers import PASSWORD

pytestmark = pytest.mark.django_db


def operator(totp_secret: str | None = None):  # type: ignore[no-untyped-def]
    user = get_user_model().objects.create_superuser("operator", "op@example.com", PASSWORD)
    if totp_secret:
        TotpDevice.objects.create(user=user, secret=totp_secret)
    return user


def test_the_admin_login_page_sends_operators_to_the_protected_sign_in() -> None:
    operator()
    response = Client().get("/admin/login/?next=/admin/payments/apikey/")
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/login/?next=%2Fadmin%2Fpayments%2Fapikey%2F"
    assert Client().get("/admin/")["Location"].startswith("/admin/login/")
    # the admin's own password form is gone: a password alone never opens the admin
    client = Client()
    client.post("/admin/login/", {"username": "operator", "password": PASSWORD, "next": "/admin/"})
    assert client.get("/admin/").status_code == 302


def test_an_operator_needs_password_and_code_to_open_the_admin() -> None:
    secret = pyotp.random_base32()
    operator(secret)
    client = Client()
    response = client.post("/dashboard/login/", {"username": "operator", "password": PASSWORD, "next": "/admin/"})
    assert response["Location"] == "/dashboard/login/code/"
    assert client.get("/admin/").status_code == 302  # not before the code
    response = client.post("/dashboard/login/code/", {"code": pyotp.TOTP(secret).now()})
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_an_operator_without_an_authenticator_enrols_before_the_admin_opens() -> None:
    operator()
    client = Client()
    response = client.post("/dashboard/login/", {"username": "operator", "password": PASSWORD, "next": "/admin/"})
    assert response["Location"] == "/dashboard/login/enrol/"
    assert client.get("/admin/").status_code == 302


def test_admin_sign_in_is_throttled() -> None:
    operator()
    client = Client()
    for i in range(signin.ACCOUNT_FREE_FAILURES):
        assert client.post("/dashboard/login/", {"username": "operator", "password": f"guess-{i}",
                                                 "next": "/admin/"}).status_code == 400
    refused = client.post("/dashboard/login/", {"username": "operator", "password": PASSWORD, "next": "/admin/"})
    assert refused.status_code == 429


def test_an_idle_admin_session_is_signed_out() -> None:
    secret = pyotp.random_base32()
    operator(secret)
    client = Client()
    client.post("/dashboard/login/", {"username": "operator", "password": PASSWORD, "next": "/admin/"})
    client.post("/dashboard/login/code/", {"code": pyotp.TOTP(secret).now()})
    assert client.get("/admin/").status_code == 200
    assert client.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == 12 * 3600
    session = client.session
    session[SESSION_LAST_SEEN] = time.time() - 31 * 60
    session.save()
    assert client.get("/admin/").status_code == 302
