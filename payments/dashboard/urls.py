"""The merchant platform's dashboard pages; config/dashboard_urls.py mounts them at /dashboard/ with
linkpay's link pages (linkpay/dashboard/urls.py) in the one `payments:dashboard` namespace."""

from __future__ import annotations

from django.urls import URLPattern, path

from payments.dashboard.views import (
    auth,
    developers,
    export,
    home,
    invoices,
    liquidity,
    payments,
    proof,
    settlements,
    team,
)

app_name = "dashboard"

urlpatterns: list[URLPattern] = [
    path("login/", auth.login_view, name="login"),
    path("login/code/", auth.login_totp_view, name="login_totp"),
    path("login/enrol/", auth.login_enroll_view, name="login_enroll"),
    path("logout/", auth.logout_view, name="logout"),
    path("switch/", auth.switch_merchant_view, name="switch"),
    path("security/", auth.security_view, name="security"),
    path("", home.home_view, name="home"),
    path("events.json", home.events_view, name="events"),
    path("liquidity/", liquidity.liquidity_view, name="liquidity"),
    path("payments/", payments.payments_view, name="payments"),
    path("payments/<str:payment_id>/", payments.payment_detail_view, name="payment"),
    path("payments/<str:payment_id>/receipt.json", payments.payment_receipt_json_view, name="payment_receipt"),
    path("payments/<str:payment_id>/refund/", payments.refund_create_view, name="refund_create"),
    path("refunds/", payments.refunds_view, name="refunds"),
    path("invoices/", invoices.invoices_view, name="invoices"),
    path("invoices/new/", invoices.invoice_new_view, name="invoice_new"),
    path("invoices/<str:invoice_id>/", invoices.invoice_detail_view, name="invoice"),
    path("invoices/<str:invoice_id>/void/", invoices.invoice_void_view, name="invoice_void"),
    path("invoices/<str:invoice_id>/refund-excess/", invoices.invoice_refund_excess_view,
         name="invoice_refund_excess"),
    path("settlements/", settlements.settlements_view, name="settlements"),
    path("proof/", proof.proof_view, name="proof"),
    path("proof/proof.json", proof.proof_download_view, name="proof_download"),
    path("settlements/request/", settlements.settlement_request_view, name="settlement_request"),
    path("settlements/rule/", settlements.settlement_rule_view, name="settlement_rule"),
    path("settlements/<str:settlement_id>/", settlements.settlement_detail_view, name="settlement"),
    path("settlements/<str:settlement_id>/report.csv", settlements.settlement_report_view,
         name="settlement_report"),
    path("time-zone/", team.time_zone_view, name="time_zone"),
    path("api-keys/", developers.api_keys_view, name="api_keys"),
    path("api-keys/new/", developers.api_key_create_view, name="api_key_create"),
    path("api-keys/<str:key_id>/revoke/", developers.api_key_revoke_view, name="api_key_revoke"),
    path("api-keys/<str:key_id>/roll/", developers.api_key_roll_view, name="api_key_roll"),
    path("webhooks/", developers.webhooks_view, name="webhooks"),
    path("webhooks/new/", developers.webhook_create_view, name="webhook_create"),
    path("webhooks/<str:endpoint_id>/", developers.webhook_detail_view, name="webhook"),
    path("webhooks/<str:endpoint_id>/edit/", developers.webhook_update_view, name="webhook_update"),
    path("webhooks/<str:endpoint_id>/delete/", developers.webhook_delete_view, name="webhook_delete"),
    path("webhooks/<str:endpoint_id>/rotate/", developers.webhook_rotate_view, name="webhook_rotate"),
    path("webhooks/<str:endpoint_id>/test/", developers.webhook_test_view, name="webhook_test"),
    path("webhooks/deliveries/<str:delivery_id>/redeliver/", developers.webhook_redeliver_view,
         name="webhook_redeliver"),
    path("team/", team.team_view, name="team"),
    path("team/invite/", team.invite_view, name="invite"),
    path("team/invitations/<int:invitation_id>/revoke/", team.invitation_revoke_view, name="invitation_revoke"),
    path("invitation/<str:token>/", team.invitation_view, name="invitation"),
    path("team/<int:membership_id>/role/", team.member_role_view, name="member_role"),
    path("team/<int:membership_id>/remove/", team.member_remove_view, name="member_remove"),
    path("audit/", team.audit_view, name="audit"),
    path("export/", export.export_view, name="export"),
]
