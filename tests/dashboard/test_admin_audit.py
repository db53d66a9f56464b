"""Operator admin: the index leads with hub health; every admin write leaves an audit row."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from ops.models import Alarm, GlobalSwitches
from payments.apikeys.models import ApiKey
from payments.apikeys.services import api_key_create
from payments.audit.models import AuditLog
from tests.dashboard.helpers import make_team

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator() -> Client:
    user = get_user_model().objects.create_superuser("operator", "op@example.com", "pw-long-enough-1")
    client = Client()
    client.force_login(user)
    return client


def test_the_admin_index_shows_open_alarms_and_the_reserve(operator: Client) -> None:
    Alarm.objects.create(kind="low_reserve", key="wei", severity="critical", message="hub reserve is low")
    page = operator.get("/admin/").content.decode()
    assert 'id="hub-overview"' in page
    assert "hub reserve is low" in page
    assert "Hub reserve (contract)" in page


def test_an_admin_action_is_audited_with_its_objects(operator: Client) -> None:
    team = make_team("Admin shop")
    key = api_key_create(merchant_id=team.merchant.pk, kind="secret").api_key
    response = operator.post("/admin/payments/apikey/", {"action": "revoke", "_selected_action": [str(key.pk)]})
    assert response.status_code == 302
    assert ApiKey.objects.get(pk=key.pk).revoked_at is not None
    row = AuditLog.objects.get(action="admin.action")
    assert (row.surface, row.actor_label, row.target) == ("admin", "operator", "payments_apikey")
    assert row.detail["action"] == "revoke" and row.detail["objects"] == [str(key.pk)]


def test_an_admin_change_is_audited_with_field_names_only(operator: Client) -> None:
    alarm = Alarm.objects.create(kind="reorg", message="reorg at 12")
    operator.post("/admin/ops/alarm/", {"action": "acknowledge", "_selected_action": [str(alarm.pk)]})
    assert AuditLog.objects.filter(action="admin.action", target="ops_alarm").count() == 1


def test_audit_rows_cannot_be_changed_from_the_admin(operator: Client) -> None:
    row = AuditLog.objects.create(action="test", surface="system")
    assert operator.post(f"/admin/payments/auditlog/{row.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AuditLog.objects.filter(pk=row.pk).exists()


def test_a_global_switch_change_is_audited_with_its_old_and_new_values(operator: Client) -> None:
    switches = GlobalSwitches.current()
    assert switches.payments_enabled and switches.withdrawals_enabled
    response = operator.post(f"/admin/ops/globalswitches/{switches.pk}/change/", {
        "payments_enabled": "on", "threads_enabled": "on"})  # withdrawals off, threads on
    assert response.status_code == 302
    switches.refresh_from_db()
    assert (switches.payments_enabled, switches.withdrawals_enabled, switches.threads_enabled) == (True, False, True)
    row = AuditLog.objects.get(action="admin.change")
    assert row.target == f"ops_globalswitches:{switches.pk}"
    assert row.detail["changes"] == {"withdrawals_enabled": {"old": True, "new": False},
                                     "threads_enabled": {"old": False, "new": True}}
