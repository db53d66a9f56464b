"""Dashboard sign-in: password, TOTP second factor (single-use codes), per-merchant enforcement,
login throttling (threats W3, W5)."""

from __future__ import annotations

import pyotp
import pytest
from django.contrib.auth.signals import user_login_failed
from django.test import Client

from payments.audit.models import AuditLog
from payments.dashboard.models import MerchantSecurity, TotpDevice
from tests.dashboard.helpers import PASSWORD, make_team, make_user, sign_in

pytestmark = pytest.mark.django_db


def test_a_member_signs_in_with_a_password_and_the_sign_in_is_audited() -> None:
    team = make_team("Plain shop")
    client = Client()
    sign_in(client, team.owner)
    assert client.get("/dashboard/").status_code == 200
    row = AuditLog.objects.get(action="signin.succeeded")
    assert (row.actor_id, row.merchant_id, row.surface) == (team.owner.pk, team.merchant.pk, "dashboard")
    assert row.detail == {"method": "password"}


def test_the_dashboard_sends_strangers_to_the_sign_in_page() -> None:
    response = Client().get("/dashboard/payments/")
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/login/?next=%2Fdashboard%2Fpayments%2F"


def test_a_user_with_an_authenticator_needs_a_code_and_each_code_works_once() -> None:
    secret = pyotp.random_base32()
    team = make_team("Two-factor shop")
    TotpDevice.objects.create(user=team.owner, secret=secret)
    client = Client()
    response = client.post("/dashboard/login/", {"username": team.owner.username, "password": PASSWORD})
    assert response["Location"] == "/dashboard/login/code/"
    assert client.get("/dashboard/").status_code == 302  # not signed in before the code
    assert client.post("/dashboard/login/code/", {"code": "000000"}).status_code == 400
    code = pyotp.TOTP(secret).now()
    assert client.post("/dashboard/login/code/", {"code": code})["Location"] == "/dashboard/"
    assert client.get("/dashboard/").status_code == 200

    replay = Client()  # an attacker who saw the code and knows the password
    replay.post("/dashboard/login/", {"username": team.owner.username, "password": PASSWORD})
    response = replay.post("/dashboard/login/code/", {"code": code})
    assert response.status_code == 400
    assert b"already used" in response.content
    assert replay.get("/dashboard/").status_code == 302
    assert AuditLog.objects.filter(action="signin.totp_failed", actor_label=team.owner.username).count() == 2


def test_an_older_code_is_refused_once_a_newer_one_was_used() -> None:
    from payments.dashboard.signin import totp_verify

    secret = pyotp.random_base32()
    user = make_user("clock", totp_secret=secret)
    now = 1_900_000_000.0
    totp = pyotp.TOTP(secret)
    assert totp_verify(user_id=user.pk, code=totp.at(now), now=now)
    assert not totp_verify(user_id=user.pk, code=totp.at(now - 30), now=now)  # within drift, but older
    assert totp_verify(user_id=user.pk, code=totp.at(now + 30), now=now + 30)


def test_a_team_that_requires_two_factor_enrols_members_at_sign_in() -> None:
    team = make_team("Strict shop", roles=("staff",))
    MerchantSecurity.objects.create(merchant=team.merchant, totp_required=True)
    staff = team.users["staff"]
    client = Client()
    response = client.post("/dashboard/login/", {"username": staff.username, "password": PASSWORD})
    assert response["Location"] == "/dashboard/login/enrol/"
    page = client.get("/dashboard/login/enrol/")
    assert page.status_code == 200 and b"<svg" in page.content
    secret = page.context["secret"]
    response = client.post("/dashboard/login/enrol/", {"code": pyotp.TOTP(secret).now()})
    assert response["Location"] == "/dashboard/"
    assert TotpDevice.objects.get(user=staff).secret == secret
    assert AuditLog.objects.filter(action="security.totp_enabled", actor_id=staff.pk).exists()


def test_200_wrong_passwords_in_an_hour_on_one_account_are_mostly_refused_unevaluated() -> None:
    team = make_team("Targeted shop")
    evaluated: list[str] = []

    def count(sender: object, credentials: dict[str, str], **kwargs: object) -> None:
        evaluated.append(credentials["username"])

    user_login_failed.connect(count)
    try:
        client = Client()
        statuses = []
        for i in range(200):  # a different source address each time: the per-account limit holds alone
            response = client.post("/dashboard/login/", {"username": team.owner.username, "password": f"guess-{i}"},
                                   REMOTE_ADDR=f"10.0.{i // 250}.{i % 250 + 1}")
            statuses.append(response.status_code)
    finally:
        user_login_failed.disconnect(count)
    assert len(evaluated) <= 100
    assert len(evaluated) == 10  # the configured per-account budget per hour window
    assert statuses.count(429) == 190
    # the right password is refused too until the window ends (refused before evaluation)
    locked = Client().post("/dashboard/login/", {"username": team.owner.username, "password": PASSWORD})
    assert locked.status_code == 429 and int(locked["Retry-After"]) > 0


def test_an_admin_session_alone_does_not_open_the_dashboard() -> None:
    team = make_team("Shop of an operator")
    team.owner.is_staff = True
    team.owner.save()
    client = Client()
    client.force_login(team.owner)  # as the admin sign-in would (no second factor there)
    assert client.get("/dashboard/").status_code == 302
