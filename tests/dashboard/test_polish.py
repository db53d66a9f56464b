"""What a merchant reads: forms only for roles that can use them, errors in the units the form
takes, success messages, the operator's kill switch on the dashboard and the checkout page, the
admin's amounts, time zones and switch message."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from ops.models import _SWITCH_CACHE, GlobalSwitches
from payments.invoices.services import invoice_create
from payments.settlements.models import Settlement
from tests.dashboard.helpers import (
    form_token,
    make_payment,
    make_team,
    random_address,
    set_rate,
    sign_in,
)

pytestmark = pytest.mark.django_db
ETH = 10**18


def client_for(user: Any) -> Client:
    client = Client()
    sign_in(client, user)
    return client


def test_staff_see_settlements_but_no_form_they_could_not_use() -> None:
    team = make_team("Quiet shop", payout_address=random_address(), roles=("staff", "manager"))
    make_payment(team.address, wei=ETH)
    staff = client_for(team.users["staff"]).get("/dashboard/settlements/").content.decode()
    assert 'id="settle-form"' not in staff and 'id="rule-form"' not in staff
    assert "but not request them" in staff and "1 ETH" in staff  # the balance, and why there is no form
    manager = client_for(team.users["manager"]).get("/dashboard/settlements/").content.decode()
    assert 'id="settle-form"' in manager and 'data-confirm="Pay {amount}' in manager


def test_a_settlement_above_the_balance_is_refused_in_eth_and_a_success_says_what_happened() -> None:
    team = make_team("Busy shop", payout_address=random_address())
    make_payment(team.address, wei=600)
    client = client_for(team.owner)
    refused = client.post("/dashboard/settlements/request/", {
        "asset": "wei", "amount": "1", "form_token": form_token(client, "/dashboard/settlements/")})
    assert refused.status_code == 400
    assert "the custodial balance is 0.0000000000000006 ETH" in refused.content.decode()
    assert "600 wei" not in refused.content.decode()
    assert not Settlement.objects.exists()
    done = client.post("/dashboard/settlements/rule/", {
        "payout_address": "", "threshold_wei": "0.5", "threshold_token": "", "schedule": "none", "reauth": "",
        "form_token": form_token(client, "/dashboard/settlements/")}, follow=True)
    assert "Settlement rule saved." in done.content.decode()


def test_payments_switched_off_shows_a_banner_to_merchants_and_on_the_checkout_page() -> None:
    team = make_team("Paused shop")
    client = client_for(team.owner)
    invoice = invoice_create(merchant_id=team.merchant.pk, amount=ETH // 4, asset="wei")
    assert 'id="payments-paused"' not in client.get("/dashboard/").content.decode()
    switches = GlobalSwitches.current()
    switches.payments_enabled = False
    switches.save()
    _SWITCH_CACHE.clear()
    try:
        home = client.get("/dashboard/").content.decode()
        assert 'id="payments-paused"' in home and "Payments are paused" in home
        checkout = Client().get(f"/pay/{invoice.public_id}").content.decode()
        assert 'id="payments-paused"' in checkout
    finally:
        _SWITCH_CACHE.clear()  # the process-wide cache must not carry "off" into other tests


def test_dust_reads_as_less_than_a_cent_and_metadata_as_key_values() -> None:
    team = make_team("Dusty shop")
    set_rate("2000", timezone.now() - timedelta(days=1))
    payment = make_payment(team.address, wei=600, meta={"orderId": "A-1", "customer": {"tier": "gold"}})
    html = client_for(team.owner).get(f"/dashboard/payments/{payment.public_id}/").content.decode()
    assert "&lt; 0.000001 ETH" in html and "&lt; $0.01" in html and "$0.00" not in html
    assert "<dt>orderId</dt><dd>A-1</dd>" in html and "{&#x27;orderId&#x27;" not in html


def test_the_admin_shows_amounts_formatted_times_with_their_zone_and_says_what_the_switches_are() -> None:
    operator = get_user_model().objects.create_superuser("op", "op@example.com", "pw-long-enough-1")
    team = make_team("Admin shop", payout_address=random_address())
    invoice_create(merchant_id=team.merchant.pk, amount=122000000000000300, asset="wei")
    client = Client()
    client.force_login(operator)
    assert "addresss" not in client.get(reverse("admin:index")).content.decode()
    page = client.get(reverse("admin:payments_invoice_changelist")).content.decode()
    assert "≈ 0.122 ETH" in page and 'title="0.1220000000000003 ETH' in page and " UTC" in page
    make_payment(team.address, wei=ETH // 4)
    payments = client.get(reverse("admin:purchases_payment_changelist")).content.decode()
    assert ">0.25 ETH</span>" in payments and str(ETH // 4) not in payments.split("<tbody")[1].split("</tbody>")[0].replace(
        f'= {ETH // 4} wei', '')  # the raw wei only in the title
    switches = GlobalSwitches.current()
    try:
        response = client.post(reverse("admin:ops_globalswitches_change", args=[switches.pk]), {
            "withdrawals_enabled": "on"}, follow=True)
    finally:
        _SWITCH_CACHE.clear()
    text = response.content.decode()
    assert "Switches saved. Payments: off (merchants see a banner" in text and "was changed successfully" not in text


def test_the_security_page_says_what_changed() -> None:
    team = make_team("Careful shop")
    client = client_for(team.owner)
    done = client.post("/dashboard/security/", {"op": "require"}, follow=True).content.decode()
    assert "Two-factor sign-in is now required for every member." in done
