"""A merchant with something on every dashboard page (payments with metadata, a partial refund,
invoices, a link, a settlement, a webhook endpoint with a delivered attempt, API keys, audit
entries), built with the services and no chain, for the layout and accessibility sweep."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.utils import timezone
from eth_account import Account

from linkpay.services import link_create_custodial
from payments.apikeys.services import api_key_create
from payments.audit.services import audit_record
from payments.invoices.services import invoice_create
from payments.merchants.services import membership_set, merchant_create
from payments.refunds.services import refund_create, refund_mark_succeeded
from payments.settlements.services import settlement_execute
from payments.webhooks.models import WebhookAttempt, WebhookDelivery
from payments.webhooks.services import endpoint_create
from tests.dashboard.helpers import make_payment, make_user, set_rate

ETH = 10**18


@dataclass
class World:
    merchant: Any
    owner: Any
    staff: Any
    address: str
    payment: Any  # partially refunded
    refunded: Any  # refunded in full
    invoice: Any
    link: Any
    link_secret: str
    endpoint: Any
    pages: dict[str, str]  # name → dashboard path


def build_world(name: str = "Harbour Coffee & Tea Roasters") -> World:
    now = timezone.now()
    set_rate("2000.5", now - timedelta(days=1))
    owner = make_user(f"owner-{name[:6].lower().replace(' ', '')}")
    staff = make_user(f"staff-{name[:6].lower().replace(' ', '')}")
    address = Account.create().address.lower()
    merchant = merchant_create(name=name, owner=owner, addresses=[address],
                               payout_address=Account.create().address)
    membership_set(merchant_id=merchant.pk, user=staff, role="staff")
    endpoint = endpoint_create(merchant_id=merchant.pk, url="https://shop.example.com/hooks/spoke",
                               event_types=["*"], description="Order system")
    payment = make_payment(address, wei=122000000000000300, created_at=now - timedelta(hours=3),
                           meta={"orderId": "A-10023", "customer": {"email": "ana@example.com", "tier": "gold"},
                                 "note": "Two bags of the Ethiopian single-origin, ground for filter"})
    refunded = make_payment(address, token=25 * ETH, created_at=now - timedelta(hours=2))
    make_payment(address, wei=600, created_at=now - timedelta(hours=1))  # dust
    for i in range(6):
        make_payment(address, wei=ETH // (i + 3), created_at=now - timedelta(days=i, minutes=5))
    partial = refund_create(merchant_id=merchant.pk, payment_id=payment.pk, amount=ETH // 50,
                            reason="requested_by_customer")
    refund_mark_succeeded(refund_id=partial.public_id)
    full = refund_create(merchant_id=merchant.pk, payment_id=refunded.pk, amount=None, reason="duplicate")
    refund_mark_succeeded(refund_id=full.public_id)
    invoice = invoice_create(merchant_id=merchant.pk, amount=ETH // 4, asset="wei",
                             description="Wholesale order #8812 — 12 kg house blend", order_id="8812")
    issued = link_create_custodial(merchant_id=merchant.pk, amount=ETH // 100, asset="wei",
                                   expires_in=3 * 86400, note="Thanks for the review!")
    settlement = settlement_execute(merchant_id=merchant.pk, asset="wei", amount=ETH // 10)
    api_key_create(merchant_id=merchant.pk, kind="secret", name="Shop backend")
    api_key_create(merchant_id=merchant.pk, kind="read_only", name="Reporting")
    audit_record(action="settlement.rule_set", surface="dashboard", actor=owner, merchant_id=merchant.pk,
                 target=f"merchant:{merchant.pk}",
                 detail={"threshold_wei": str(ETH // 2), "threshold_token": None, "schedule": "daily",
                         "payout_address": merchant.payout_address})
    delivery = WebhookDelivery.objects.filter(endpoint=endpoint).order_by("id").first()
    if delivery is not None:
        WebhookAttempt.objects.create(
            delivery=delivery, number=1, started_at=now, duration_ms=182, signature_header="t=1,v1=00",
            request_body='{"id":"evt_1","type":"refund.succeeded","data":{"object":{"id":"re_1","amount":"20000000000000000","asset":"wei","metadata":{}}}}',
            response_status=500, response_body="upstream_connect_error_or_disconnect_reset_before_headers")
    pages = {
        "home": "/dashboard/", "payments": "/dashboard/payments/",
        "payment": f"/dashboard/payments/{payment.public_id}/",
        "invoices": "/dashboard/invoices/", "invoice-new": "/dashboard/invoices/new/",
        "invoice": f"/dashboard/invoices/{invoice.public_id}/",
        "links": "/dashboard/links/", "refunds": "/dashboard/refunds/",
        "settlements": "/dashboard/settlements/", "settlement": f"/dashboard/settlements/{settlement.public_id}/",
        "api-keys": "/dashboard/api-keys/", "webhooks": "/dashboard/webhooks/", "webhook": f"/dashboard/webhooks/{endpoint.public_id}/",
        "team": "/dashboard/team/", "audit": "/dashboard/audit/", "export": "/dashboard/export/",
        "security": "/dashboard/security/", "proof": "/dashboard/proof/", "liquidity": "/dashboard/liquidity/",
    }
    return World(merchant=merchant, owner=owner, staff=staff, address=address, payment=payment,
                 refunded=refunded, invoice=invoice, link=issued.link, link_secret=issued.secret,
                 endpoint=endpoint, pages=pages)
