"""Mounted at the site root: the public link page. (The protocol routes, under /api/hub/, are in
config/hub_urls.py; the merchant API's /api/v1/links routes in config/api_urls.py point at
linkpay/api.py.)"""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, re_path

from linkpay import views

app_name = "linkpay"

LINK_ID = r"(?P<public_id>lnk_[0-9a-f]{24})"

urlpatterns: list[URLPattern | URLResolver] = [
    re_path(rf"^l/{LINK_ID}$", views.page, name="page"),
    re_path(rf"^l/{LINK_ID}/status$", views.status, name="status"),
    re_path(rf"^l/{LINK_ID}/claim$", views.claim, name="claim"),
    re_path(rf"^l/{LINK_ID}/qr$", views.qr, name="qr"),
]
