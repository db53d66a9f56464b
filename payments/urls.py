"""The checkout pages; config/urls.py mounts them at the site root in the `payments` namespace, with
the dashboard (config/dashboard_urls.py) at /dashboard/."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from payments.invoices import receipts
from payments.invoices import views as checkout
from payments.received import views as received

app_name = "payments"

urlpatterns: list[URLPattern | URLResolver] = [
    path("pay/<str:invoice_id>", checkout.checkout, name="checkout"),
    path("pay/<str:invoice_id>/status.json", checkout.checkout_status, name="checkout_status"),
    path("pay/<str:invoice_id>/intent.json", checkout.checkout_intent, name="checkout_intent"),
    path("receipts/payments/<str:payment_id>/<str:token>", received.payment_receipt, name="payment_receipt"),
    path("receipts/<str:invoice_id>/<str:token>", receipts.receipt, name="receipt"),
]
