"""/api/v1/: the merchant REST API: the merchant platform's resources (payments/*/api.py) and
the payment links' (linkpay/api.py)."""

from __future__ import annotations

from django.urls import include, path, re_path

from linkpay import api as links
from payments.api import docs, errors, schema
from payments.api.payments_received import PaymentDetailView, PaymentListView
from payments.apikeys import api as apikeys
from payments.balances.api import BalanceView, LiabilityProofView, LiquidityView
from payments.events import api as events
from payments.invoices import api as invoices
from payments.invoices.public_api import PublicInvoiceView
from payments.refunds import api as refunds
from payments.settlements import api as settlements
from payments.webhooks import api as webhooks

v1 = [
    path("balance", BalanceView.as_view(), name="balance"),
    path("liabilities/proof", LiabilityProofView.as_view(), name="liabilities_proof"),
    path("liquidity", LiquidityView.as_view(), name="liquidity"),
    path("payments", PaymentListView.as_view(), name="payments"),
    path("payments/<str:id>", PaymentDetailView.as_view(), name="payment"),
    path("invoices", invoices.InvoiceListView.as_view(), name="invoices"),
    path("invoices/<str:id>", invoices.InvoiceDetailView.as_view(), name="invoice"),
    path("invoices/<str:id>/refund_excess", invoices.InvoiceRefundExcessView.as_view(),
         name="invoice_refund_excess"),
    path("public/invoices/<str:id>", PublicInvoiceView.as_view(), name="public_invoice"),
    path("refunds", refunds.RefundListView.as_view(), name="refunds"),
    path("refunds/<str:id>", refunds.RefundDetailView.as_view(), name="refund"),
    path("payout_settings", settlements.PayoutSettingsView.as_view(), name="payout_settings"),
    path("settlements", settlements.SettlementListView.as_view(), name="settlements"),
    path("settlements/<str:id>", settlements.SettlementDetailView.as_view(), name="settlement"),
    path("settlements/<str:id>/report", settlements.SettlementReportView.as_view(), name="settlement_report"),
    path("webhook_endpoints", webhooks.WebhookEndpointListView.as_view(), name="webhook_endpoints"),
    path("webhook_endpoints/<str:id>", webhooks.WebhookEndpointDetailView.as_view(),
         name="webhook_endpoint"),
    path("webhook_endpoints/<str:id>/rotate_secret", webhooks.WebhookEndpointRotateSecretView.as_view(),
         name="webhook_endpoint_rotate_secret"),
    path("webhook_endpoints/<str:id>/test", webhooks.WebhookEndpointTestView.as_view(),
         name="webhook_endpoint_test"),
    path("webhook_deliveries", webhooks.WebhookDeliveryListView.as_view(), name="webhook_deliveries"),
    path("webhook_deliveries/<str:id>", webhooks.WebhookDeliveryDetailView.as_view(),
         name="webhook_delivery"),
    path("webhook_deliveries/<str:id>/redeliver", webhooks.WebhookDeliveryRedeliverView.as_view(),
         name="webhook_delivery_redeliver"),
    path("event_types", events.EventTypeListView.as_view(), name="event_types"),
    path("events", events.EventListView.as_view(), name="events"),
    path("events/<str:id>", events.EventDetailView.as_view(), name="event"),
    path("api_keys", apikeys.ApiKeyListView.as_view(), name="api_keys"),
    path("api_keys/<str:id>", apikeys.ApiKeyDetailView.as_view(), name="api_key"),
    path("api_keys/<str:id>/revoke", apikeys.ApiKeyRevokeView.as_view(), name="api_key_revoke"),
    path("api_keys/<str:id>/roll", apikeys.ApiKeyRollView.as_view(), name="api_key_roll"),
    path("links", links.LinkListView.as_view(), name="links"),
    path("links/<str:id>", links.LinkDetailView.as_view(), name="link"),
    path("links/<str:id>/cancel", links.LinkCancelView.as_view(), name="link_cancel"),
]

urlpatterns = [
    path("api/v1/", include((v1, "api_v1"), namespace="api_v1")),
    path("api/v1/schema/", schema.schema_view(), name="api_v1_schema"),
    path("api/v1/docs/", docs.docs_page, name="api_v1_docs"),
    re_path(r"^api/v1(?:/.*)?$", errors.not_found),
]
