"""Financial records are append-only in the operator admin, superusers included: no add, change
or delete on any registered model (nor its inlines) except an explicit allowlist of configuration
models. Walks the admin registry, so a newly registered model is covered automatically."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import Model
from django.test import Client, RequestFactory
from django.urls import reverse

from payments.invoices.models import Invoice
from payments.refunds.models import Refund
from tests.dashboard.helpers import make_payment, make_team

pytestmark = pytest.mark.django_db

# Configuration and credentials an operator may edit: not records of money, events or requests.
EDITABLE = {
    "auth.user", "auth.group",
    "hub.collateralprofile", "hub.collateralassignment", "hub.ratesource",
    "payments.merchant", "payments.receivingaddress", "payments.merchantsecurity",
    "payments.webhookendpoint", "payments.totpdevice",
    "ops.alarm", "ops.heartbeat", "ops.globalswitches",
}


def label(model: type[Model]) -> str:
    return f"{model._meta.app_label}.{model._meta.model_name}"


@pytest.fixture
def operator() -> Any:
    return get_user_model().objects.create_superuser("op", "op@example.com", "pw-long-enough-1")


def test_the_allowlist_names_only_registered_models() -> None:
    assert EDITABLE <= {label(m) for m in admin.site._registry}


@pytest.mark.parametrize("model", sorted(
    (m for m in admin.site._registry if label(m) not in EDITABLE), key=label), ids=label)
def test_a_financial_record_cannot_be_added_changed_or_deleted_in_the_admin(model: type[Model],
                                                                            operator: Any) -> None:
    request = RequestFactory().get("/admin/")
    request.user = operator
    model_admin = admin.site._registry[model]
    obj = model()
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, obj)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request, obj)
    assert not model_admin.has_delete_permission(request)
    assert "delete_selected" not in model_admin.get_actions(request)
    for inline in model_admin.get_inline_instances(request, obj):
        assert not inline.has_add_permission(request, obj), inline
        assert not inline.has_change_permission(request, obj), inline
        assert not inline.has_delete_permission(request, obj), inline


def test_an_operator_can_neither_delete_a_payment_nor_add_a_succeeded_refund(operator: Any) -> None:
    team = make_team("Admin shop")
    payment = make_payment(team.address, wei=10**18)
    client = Client()
    client.force_login(operator)
    meta = payment._meta
    response = client.post(reverse(f"admin:{meta.app_label}_{meta.model_name}_delete", args=[payment.pk]),
                           {"post": "yes"})
    assert response.status_code == 403
    response = client.post(reverse("admin:payments_refund_add"), {
        "merchant": team.merchant.pk, "payment_id": payment.pk, "recipient": payment.sender,
        "amount": "1", "asset": "wei", "state": "succeeded", "reason": "requested_by_customer"})
    assert response.status_code == 403
    response = client.post(reverse("admin:payments_invoice_add"), {
        "merchant": team.merchant.pk, "amount": "1", "asset": "wei", "state": "paid"})
    assert response.status_code == 403
    assert type(payment).objects.filter(pk=payment.pk).exists()
    assert not Refund.objects.exists() and not Invoice.objects.exists()
