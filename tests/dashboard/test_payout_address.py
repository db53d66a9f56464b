"""Changing the payout address needs the password or a fresh code again, in the same form, and
every owner hears of it (email, audit row, a notice on their dashboard)."""

from __future__ import annotations

import pyotp
import pytest
from django.core import mail
from django.test import Client

from payments.audit.models import AuditLog
from payments.dashboard.models import TotpDevice
from payments.merchants.models import Merchant
from payments.merchants.services import membership_set
from tests.dashboard.helpers import (
    PASSWORD,
    form_token,
    make_team,
    make_user,
    random_address,
    sign_in,
)

pytestmark = pytest.mark.django_db
OLD = "0x" + "aa" * 20


def rule(client: Client, payout_address: str, reauth: str = "", schedule: str = "none"):  # type: ignore[no-untyped-def]
    return client.post("/dashboard/settlements/rule/", {
        "payout_address": payout_address, "threshold_wei": "", "threshold_token": "", "schedule": schedule,
        "reauth": reauth, "form_token": form_token(client, "/dashboard/settlements/")})


def signed_in_owner(team) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    sign_in(client, team.owner)
    return client


def test_a_signed_in_session_alone_cannot_change_the_payout_address() -> None:
    team = make_team("Hijacked shop", payout_address=OLD)
    client = signed_in_owner(team)
    attacker_address = random_address()
    for reauth in ("", "wrong password", "123456"):
        response = rule(client, attacker_address, reauth)
        assert response.status_code == 400
        assert b"password or a current code" in response.content
    assert Merchant.objects.get(pk=team.merchant.pk).payout_address == OLD
    assert AuditLog.objects.filter(action="security.reauth_failed", actor_id=team.owner.pk).count() == 3
    assert not AuditLog.objects.filter(action="settlement.payout_address_changed").exists()


def test_with_the_password_the_address_changes_and_every_owner_is_told(django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    team = make_team("Careful shop", payout_address=OLD, roles=("manager",))
    co_owner = make_user("co-owner")
    membership_set(merchant_id=team.merchant.pk, user=co_owner, role="owner")
    new = random_address()
    with django_capture_on_commit_callbacks(execute=True):
        response = rule(signed_in_owner(team), new, PASSWORD)
    assert response.status_code == 302
    assert Merchant.objects.get(pk=team.merchant.pk).payout_address == new
    row = AuditLog.objects.get(action="settlement.payout_address_changed")
    assert (row.detail["before"], row.detail["after"], row.actor_id) == (OLD, new, team.owner.pk)
    assert len(mail.outbox) == 1
    assert sorted(mail.outbox[0].to) == sorted([team.owner.email, co_owner.email])
    assert new in mail.outbox[0].body and OLD in mail.outbox[0].body
    other = Client()
    sign_in(other, co_owner)
    notice = other.get("/dashboard/").content.decode()
    assert 'id="payout-notice"' in notice and new in notice
    manager = Client()
    sign_in(manager, team.users["manager"])
    assert 'id="payout-notice"' not in manager.get("/dashboard/").content.decode()


def test_a_current_code_from_the_authenticator_also_confirms_the_change() -> None:
    secret = pyotp.random_base32()
    team = make_team("Two-factor shop", payout_address=OLD)
    TotpDevice.objects.create(user=team.owner, secret=secret)
    client = Client()
    sign_in(client, team.owner, totp_secret=secret)
    new = random_address()
    code = pyotp.TOTP(secret).now()
    assert rule(client, new, code).status_code == 400  # the sign-in just used this step's code
    TotpDevice.objects.filter(user=team.owner).update(last_used_step=0)
    assert rule(client, new, code).status_code == 302
    assert Merchant.objects.get(pk=team.merchant.pk).payout_address == new


def test_the_rest_of_the_rule_changes_without_the_password_when_the_address_stays() -> None:
    team = make_team("Scheduled shop", payout_address=OLD)
    assert rule(signed_in_owner(team), OLD.upper().replace("0X", "0x"), schedule="daily").status_code == 302
    merchant = Merchant.objects.get(pk=team.merchant.pk)
    assert (merchant.payout_address, merchant.settlement_schedule) == (OLD, "daily")
