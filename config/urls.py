from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from ops.views import favicon, healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("favicon.ico", favicon, name="favicon"),
    path("admin/", admin.site.urls),
    path("api/hub/", include("hub.urls")),
    path("", include("payments.urls")),
    path("", include("linkpay.urls")),
]
