from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from config.status.views import status_json, status_page
from hub.liabilities.views import proof_page
from ops.views import favicon, healthz
from payments import urls as payments_urls

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("favicon.ico", favicon, name="favicon"),
    path("status/", status_page, name="status"),
    path("status.json", status_json, name="status_json"),
    path("admin/", admin.site.urls),
    path("api/hub/", include("config.hub_urls")),
    path("proof/", proof_page, name="liabilities_proof"),
    path("", include("config.api_urls")),
    path("i18n/", include("django.conf.urls.i18n")),  # set_language: the language chooser
    # the `payments` namespace: the checkout pages and, at /dashboard/, the dashboard (the merchant
    # platform's pages and linkpay's link pages: config/dashboard_urls.py)
    path("", include(([*payments_urls.urlpatterns, path("dashboard/", include("config.dashboard_urls"))],
                      payments_urls.app_name))),
    path("", include("linkpay.urls")),
    path("", include("hub.card.urls")),  # the Card, /card/
]
