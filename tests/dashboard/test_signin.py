"""Dashboard sign-in: password, TOTP second factor (single-use codes), per-merchant enforcement,
login throttling (threats W3, W5)."""

from __future__ import annotations

import time

import pyotp
import pytest
from django.contrib.auth.signals import user_login_failed
from django.test import Client

from payments.audit.models import AuditLog
from payments.dashboard import signin
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


def test_200_wrong_passwords_from_200_addresses_get_a_handful_evaluated_and_each_failure_is_audited(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # a controlled clock: the run takes no time however slow the machine, so no delay ends mid-run
    start = 1_900_000_000.0
    monkeypatch.setattr(signin, "clock", lambda: start)
    team = make_team("Targeted shop")
    evaluated: list[str] = []

    def count(sender: object, credentials: dict[str, str], **kwargs: object) -> None:
        evaluated.append(credentials["username"])

    user_login_failed.connect(count)
    try:
        client = Client()
        statuses = []
        for i in range(200):  # a different source address each time: the per-account back-off holds alone
            response = client.post("/dashboard/login/", {"username": team.owner.username, "password": f"guess-{i}"},
                                   REMOTE_ADDR=f"10.0.{i // 250}.{i % 250 + 1}")
            statuses.append(response.status_code)
    finally:
        user_login_failed.disconnect(count)
    # 5 free attempts; the clock did not move, so the first 2 s delay never ended
    assert len(evaluated) == signin.ACCOUNT_FREE_FAILURES
    assert 429 not in statuses[:5] and statuses.count(429) == 195
    assert AuditLog.objects.filter(action="signin.failed", actor_label=team.owner.username).count() == 5
    refused = Client().post("/dashboard/login/", {"username": team.owner.username, "password": PASSWORD},
                            REMOTE_ADDR="10.9.9.9")
    assert refused.status_code == 429 and int(refused["Retry-After"]) == 2
    # two seconds later exactly one more guess is evaluated, and the next delay is 4 s
    monkeypatch.setattr(signin, "clock", lambda: start + 2)
    user_login_failed.connect(count)
    try:
        answers = [Client().post("/dashboard/login/", {"username": team.owner.username, "password": "x"},
                                 REMOTE_ADDR=f"10.8.0.{i + 1}") for i in range(5)]
    finally:
        user_login_failed.disconnect(count)
    assert len(evaluated) == 6 and [a.status_code for a in answers].count(429) == 4
    assert int(answers[-1]["Retry-After"]) == 4


def test_the_delay_after_each_further_failure_doubles_from_two_seconds_up_to_fifteen_minutes() -> None:
    t = 1_900_000_000.0
    for _ in range(signin.ACCOUNT_FREE_FAILURES):
        assert signin.signin_throttle(username="victim", ip=None, now=t).allowed
        signin.signin_failure_record(username="victim", ip=f"10.1.0.{_}", now=t)
    delays = []
    for i in range(14):
        refused = signin.signin_throttle(username="victim", ip=f"10.2.0.{i}", now=t)
        assert not refused.allowed
        delays.append(refused.retry_after)
        t += refused.retry_after
        assert signin.signin_throttle(username="victim", ip=f"10.2.0.{i}", now=t).allowed
        signin.signin_failure_record(username="victim", ip=f"10.2.0.{i}", now=t)
    assert delays == [2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900, 900, 900]


def test_after_ten_wrong_passwords_the_owner_signs_in_with_password_and_code_from_a_fresh_address() -> None:
    secret = pyotp.random_base32()
    team = make_team("Attacked shop")
    TotpDevice.objects.create(user=team.owner, secret=secret)
    attack_time = time.time() - 100  # ten failures (delay now 64 s) a hundred seconds ago
    for i in range(10):
        signin.signin_failure_record(username=team.owner.username, ip=f"203.0.113.{i}", now=attack_time)
    client = Client(REMOTE_ADDR="198.51.100.7")
    response = client.post("/dashboard/login/", {"username": team.owner.username, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/dashboard/login/code/"
    response = client.post("/dashboard/login/code/", {"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 302 and response["Location"] == "/dashboard/"
    assert client.get("/dashboard/").status_code == 200
    # the attacker's count is gone with the owner's sign-in: the next typo costs no delay
    assert signin.signin_throttle(username=team.owner.username, ip="198.51.100.8").allowed


def test_a_burst_of_concurrent_guesses_after_a_delay_gets_one_evaluation() -> None:
    t = 1_900_000_000.0
    for i in range(signin.ACCOUNT_FREE_FAILURES + 1):
        signin.signin_failure_record(username="burst", ip=f"10.3.0.{i}", now=t)
    later = t + 60
    answers = [signin.signin_throttle(username="burst", ip=f"10.4.0.{i}", now=later).allowed for i in range(20)]
    assert answers.count(True) == 1
    # the code step of a sign-in whose password was right has its own slot
    assert signin.signin_throttle(username="burst", ip="10.4.0.0", now=later, stage="code").allowed


def test_one_address_guessing_many_accounts_is_slowed_down() -> None:
    t = 1_900_000_000.0
    for i in range(signin.IP_FREE_FAILURES):
        assert signin.signin_throttle(username=f"user-{i}", ip="192.0.2.66", now=t).allowed
        signin.signin_failure_record(username=f"user-{i}", ip="192.0.2.66", now=t)
    refused = signin.signin_throttle(username="user-new", ip="192.0.2.66", now=t + 1)
    assert not refused.allowed and refused.retry_after == 1
    assert signin.signin_throttle(username="user-new", ip="192.0.2.67", now=t + 1).allowed


def test_an_admin_session_alone_does_not_open_the_dashboard() -> None:
    team = make_team("Shop of an operator")
    team.owner.is_staff = True
    team.owner.save()
    client = Client()
    client.force_login(team.owner)  # as the admin sign-in would (no second factor there)
    assert client.get("/dashboard/").status_code == 302
