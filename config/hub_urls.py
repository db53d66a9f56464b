"""The Connext v1 protocol API, mounted at /api/hub/ (HUB_URL for the client): the hub's routes
(hub/api/) and the link routes linkpay adds to the protocol (linkpay/protocol.py)."""

from __future__ import annotations

from django.urls import path, re_path

from hub.api import channels, liabilities, payments, public, threads
from linkpay import protocol as links

USER = r"(?P<user>0x[0-9a-fA-F]{40})"

urlpatterns = [
    path("nonce", public.nonce),
    path("config", public.config),
    path("exchangeRate", public.exchange_rate),
    path("gasPrice/estimate", public.gas_estimate),
    path("featureFlags", public.feature_flags),
    path("featureflags", public.feature_flags),
    path("schema/", public.schema),
    path("liabilities/latest", liabilities.latest),
    path("liabilities/proof", liabilities.proof),
    re_path(rf"^channel/{USER}$", channels.channel_detail),
    re_path(rf"^channel/{USER}/sync$", channels.channel_sync),
    re_path(rf"^channel/{USER}/latest-update$", channels.latest_update),
    re_path(rf"^channel/{USER}/latest-no-pending$", channels.latest_no_pending),
    re_path(rf"^channel/{USER}/update/(?P<tx_count>[0-9]{{1,18}})$", channels.update_at),
    re_path(rf"^channel/{USER}/request-deposit$", channels.request_deposit),
    re_path(rf"^channel/{USER}/request-collateralization$", channels.request_collateralization),
    re_path(rf"^channel/{USER}/request-exchange$", channels.request_exchange),
    re_path(rf"^channel/{USER}/request-withdrawal$", channels.request_withdrawal),
    re_path(rf"^channel/{USER}/update$", channels.update),
    path("payments/purchase", payments.purchase),
    re_path(r"^payments/purchase/(?P<purchase_id>pur_[0-9a-f]{32})$", payments.purchase_detail),
    re_path(rf"^payments/history/{USER}$", payments.payment_history),
    re_path(rf"^payments/redeem/{USER}$", links.redeem),
    re_path(rf"^links/{USER}$", links.link_list),
    re_path(r"^links/(?P<link_id>lnk_[0-9a-f]{24})/cancel$", links.link_cancel),
    re_path(rf"^custodial/{USER}/balance$", payments.custodial_balance),
    path("custodial/withdrawals", payments.custodial_withdraw),
    re_path(rf"^custodial/{USER}/withdrawals$", payments.custodial_withdrawals),
    re_path(r"^custodial/withdrawals/(?P<withdrawal_id>[0-9]{1,18})$", payments.custodial_withdrawal),
    re_path(rf"^thread/{USER}/(?P<which>active|all|incoming|initial-states)$", threads.thread_list),
    re_path(rf"^thread/{USER}/last-update-id$", threads.last_update_id),
    re_path(r"^thread/(?P<sender>0x[0-9a-fA-F]{40})/to/(?P<receiver>0x[0-9a-fA-F]{40})$",
            threads.thread_between),
    re_path(r"^thread/(?P<sender>0x[0-9a-fA-F]{40})/to/(?P<receiver>0x[0-9a-fA-F]{40})/update$",
            threads.thread_update),
    re_path(r"^[\s\S]*$", public.not_found),  # JSON 404 (with a code) for everything, newlines too
]
