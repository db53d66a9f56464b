"""Dashboard writes go through the platform's services and leave exactly one audit row each;
the audit log is append-only; operator admin writes are audited too."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError
from django.test import Client

from linkpay.models import Link
from payments.apikeys.models import ApiKey
from payments.apikeys.services import api_key_authenticate
from payments.audit.models import AuditLog
from payments.merchants.models import Membership
from payments.merchants.permissions import MONEY_OUT, ROLE_PERMISSIONS
from payments.refunds.models import Refund
from payments.webhooks.models import WebhookDelivery
from tests.dashboard.helpers import make_payment, make_team, post_form, sign_in

pytestmark = pytest.mark.django_db
ETH = 10**18


def owner_client(team) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    sign_in(client, team.owner)
    return client


def test_an_api_key_is_shown_once_works_and_is_audited_then_revoked() -> None:
    team = make_team("Key shop")
    client = owner_client(team)
    response = post_form(client, "/dashboard/api-keys/", "/dashboard/api-keys/new/",
                         {"kind": "secret", "name": "backend"}, follow=True)
    plaintext = response.context["issued"]
    assert response.redirect_chain == [("/dashboard/api-keys/", 302)]
    assert "no-store" in response["Cache-Control"]
    key = api_key_authenticate(plaintext)
    assert key is not None and key.merchant_id == team.merchant.pk
    assert plaintext not in client.get("/dashboard/api-keys/").content.decode()  # never again
    row = AuditLog.objects.get(action="api_key.created")
    assert row.target == f"api_key:{key.public_id}" and plaintext not in str(row.detail)
    post_form(client, "/dashboard/api-keys/", f"/dashboard/api-keys/{key.public_id}/revoke/")
    assert api_key_authenticate(plaintext) is None
    assert AuditLog.objects.filter(action="api_key.revoked", target=f"api_key:{key.public_id}").count() == 1


def test_another_merchants_key_cannot_be_revoked() -> None:
    team, other = make_team("A"), make_team("B")
    from payments.apikeys.services import api_key_create

    issued = api_key_create(merchant_id=other.merchant.pk, kind="secret")
    response = post_form(owner_client(team), "/dashboard/api-keys/", f"/dashboard/api-keys/{issued.api_key.public_id}/revoke/")
    assert response.status_code == 404
    assert ApiKey.objects.get(pk=issued.api_key.pk).revoked_at is None


def test_role_changes_are_audited_and_the_last_owner_stays() -> None:
    team = make_team("Role shop", roles=("staff",))
    client = owner_client(team)
    staff = Membership.objects.get(user=team.users["staff"])
    post_form(client, "/dashboard/team/", f"/dashboard/team/{staff.pk}/role/", {"role": "manager"})
    staff.refresh_from_db()
    assert staff.role == "manager"
    row = AuditLog.objects.get(action="team.role_changed")
    assert row.detail["before"] == "staff" and row.detail["after"] == "manager"
    own = Membership.objects.get(user=team.owner)
    response = post_form(client, "/dashboard/team/", f"/dashboard/team/{own.pk}/role/", {"role": "staff"})
    assert response.status_code == 400
    assert Membership.objects.get(pk=own.pk).role == "owner"


def test_a_link_shows_its_url_and_qr_once_and_can_be_cancelled() -> None:
    team = make_team("Link shop")
    make_payment(team.address, wei=ETH)
    client = owner_client(team)
    response = post_form(client, "/dashboard/links/", "/dashboard/links/new/",
                         {"amount": "0.25", "asset": "wei", "expires_in_days": 7, "note": "thanks"}, follow=True)
    assert response.redirect_chain == [("/dashboard/links/created/", 302)]
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    link = Link.objects.get(merchant=team.merchant)
    assert link.amount == ETH // 4
    assert response.context["url"].startswith(f"http://testserver/l/{link.public_id}#")
    assert b"<svg" in response.content
    secret = response.context["url"].split("#", 1)[1]
    assert secret not in client.get("/dashboard/links/").content.decode()
    post_form(client, "/dashboard/links/", f"/dashboard/links/{link.public_id}/cancel/")
    assert Link.objects.get(pk=link.pk).status == Link.Status.CANCELLED
    again = post_form(client, "/dashboard/links/", f"/dashboard/links/{link.public_id}/cancel/")  # was a 500
    assert again.status_code == 400 and link.public_id in again.content.decode()
    assert post_form(client, "/dashboard/links/", "/dashboard/links/lnk_no_such_link/cancel/").status_code == 404
    assert [a.action for a in AuditLog.objects.filter(merchant_id=team.merchant.pk, action__startswith="link.")
            .order_by("id")] == ["link.created", "link.cancelled"]


def test_staff_cannot_create_or_cancel_funded_links_and_see_no_form_but_a_manager_can() -> None:
    team = make_team("Staffed shop", roles=("manager", "staff"))
    make_payment(team.address, wei=ETH)
    form = {"amount": "0.25", "asset": "wei", "expires_in_days": 7, "note": ""}
    staff = Client()
    sign_in(staff, team.users["staff"])
    assert staff.post("/dashboard/links/new/", form).status_code == 403
    assert not Link.objects.filter(merchant=team.merchant).exists()
    listing = staff.get("/dashboard/links/")
    assert listing.status_code == 200 and b'id="link-form"' not in listing.content
    manager = Client()
    sign_in(manager, team.users["manager"])
    assert b'id="link-form"' in manager.get("/dashboard/links/").content
    assert post_form(manager, "/dashboard/links/", "/dashboard/links/new/", form).status_code == 302
    link = Link.objects.get(merchant=team.merchant)
    assert b"Cancel link" not in staff.get("/dashboard/links/").content
    assert staff.post(f"/dashboard/links/{link.public_id}/cancel/").status_code == 403
    assert Link.objects.get(pk=link.pk).status == Link.Status.OPEN


def test_only_roles_that_may_settle_may_send_money_out() -> None:
    for role, granted in ROLE_PERMISSIONS.items():
        for resource in MONEY_OUT:
            if granted.get(resource) == "write":
                assert granted.get("settlements") == "write", (role, resource)
    assert ROLE_PERMISSIONS["staff"].get("links") != "write"


def test_a_link_above_the_balance_is_refused_with_a_message() -> None:
    team = make_team("Poor shop")
    response = post_form(owner_client(team), "/dashboard/links/", "/dashboard/links/new/",
                         {"amount": "1", "asset": "wei", "expires_in_days": 7})
    assert response.status_code == 400
    assert b"custodial balance is 0" in response.content
    assert not Link.objects.exists()


def test_a_refund_is_requested_from_the_payment_page() -> None:
    team = make_team("Refund shop")
    payment = make_payment(team.address, wei=ETH)
    post_form(owner_client(team), f"/dashboard/payments/{payment.public_id}/", f"/dashboard/payments/{payment.public_id}/refund/",
              {"amount": "0.4", "reason": "duplicate"})
    refund = Refund.objects.get(payment_id=payment.pk)
    assert (refund.amount, refund.reason, refund.recipient) == (4 * ETH // 10, "duplicate", payment.sender)
    assert AuditLog.objects.filter(action="refund.requested", target=f"refund:{refund.public_id}").exists()


def test_a_webhook_delivery_can_be_redelivered() -> None:
    team = make_team("Hook shop")
    client = owner_client(team)
    post_form(client, "/dashboard/webhooks/", "/dashboard/webhooks/new/", {"url": "https://example.com/hook", "event_types": "*"})
    make_payment(team.address, wei=ETH)
    from payments.events.services import event_record

    with transaction.atomic():
        event_record(type="payment.succeeded", merchant_id=team.merchant.pk, data={"object": {"x": 1}})
    first = WebhookDelivery.objects.get()
    page = client.get(f"/dashboard/webhooks/{first.endpoint.public_id}/")
    assert first.public_id in page.content.decode()
    post_form(client, f"/dashboard/webhooks/{first.endpoint.public_id}/",
              f"/dashboard/webhooks/deliveries/{first.public_id}/redeliver/")
    assert WebhookDelivery.objects.get(redelivery_of=first).event_id == first.event_id


def test_the_audit_log_is_append_only_in_the_model_and_in_the_database() -> None:
    row = AuditLog.objects.create(action="test", surface="system")
    with pytest.raises(ValueError):
        row.save()
    with pytest.raises(ValueError):
        row.delete()
    for sql in ("UPDATE payments_auditlog SET action = 'rewritten'", "DELETE FROM payments_auditlog"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    assert AuditLog.objects.get(pk=row.pk).action == "test"


def test_owners_see_the_audit_log_and_staff_do_not() -> None:
    team = make_team("Audited shop", roles=("staff",))
    page = owner_client(team).get("/dashboard/audit/")
    assert "signin.succeeded" in page.content.decode()
    staff = Client()
    sign_in(staff, team.users["staff"])
    assert staff.get("/dashboard/audit/").status_code == 403


def test_webhook_endpoints_are_managed_from_the_dashboard_with_an_audit_row_each() -> None:
    from payments.webhooks.models import WebhookEndpoint

    team = make_team("Hook admin shop")
    client = owner_client(team)
    page = client.get("/dashboard/webhooks/").content.decode()
    assert 'type="checkbox"' in page and 'value="payment.succeeded"' in page  # the event picker
    post_form(client, "/dashboard/webhooks/", "/dashboard/webhooks/new/",
              {"url": "https://example.com/hook", "event_types": ["payment.succeeded", "refund.failed"]})
    endpoint = WebhookEndpoint.objects.get(merchant=team.merchant)
    assert endpoint.event_types == ["payment.succeeded", "refund.failed"]
    detail = f"/dashboard/webhooks/{endpoint.public_id}/"
    with transaction.atomic():
        from payments.events.services import event_record

        event_record(type="payment.succeeded", merchant_id=team.merchant.pk, data={"object": {"x": 1}})
    # disable: the pending delivery is cancelled
    response = post_form(client, detail, f"{detail}edit/", {
        "url": "https://example.org/hook", "event_types": ["*"], "description": "d"})
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.event_types, endpoint.enabled) == ("https://example.org/hook", ["*"], False)
    assert WebhookDelivery.objects.get().state == WebhookDelivery.State.CANCELLED
    # a typo in the events cannot be sent through the form either
    response = post_form(client, detail, f"{detail}edit/", {"url": "https://example.org/hook",
                                                             "event_types": ["payment.sucess"]})
    assert response.status_code == 400
    secret = endpoint.secret
    post_form(client, detail, f"{detail}rotate/")
    endpoint.refresh_from_db()
    assert endpoint.secret != secret and endpoint.previous_secret == secret
    post_form(client, detail, f"{detail}test/")
    assert WebhookDelivery.objects.filter(event__type="webhook_endpoint.test", endpoint=endpoint).count() == 1
    response = post_form(client, detail, f"{detail}delete/")
    assert response.status_code == 302 and response["Location"] == "/dashboard/webhooks/"
    assert not WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()
    actions = list(AuditLog.objects.filter(target=f"webhook_endpoint:{endpoint.public_id}")
                   .order_by("id").values_list("action", flat=True))
    assert actions == ["webhook_endpoint.created", "webhook_endpoint.updated", "webhook_endpoint.secret_rotated",
                       "webhook_endpoint.test_sent", "webhook_endpoint.deleted"]


def test_a_staff_member_cannot_delete_a_webhook_endpoint() -> None:
    from payments.webhooks.models import WebhookEndpoint
    from payments.webhooks.services import endpoint_create

    team = make_team("Hook staff shop", roles=("staff",))
    endpoint = endpoint_create(merchant_id=team.merchant.pk, url="https://example.com/h", event_types=["*"])
    client = Client()
    sign_in(client, team.users["staff"])
    response = client.post(f"/dashboard/webhooks/{endpoint.public_id}/delete/", {"form_token": "x"})
    assert response.status_code in (302, 403, 404)
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()
