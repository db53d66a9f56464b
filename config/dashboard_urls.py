"""The dashboard at /dashboard/ (namespace `payments:dashboard`, see config/urls.py): the merchant
platform's pages (payments/dashboard/urls.py) and linkpay's link pages (linkpay/dashboard/urls.py).
Tests that walk every dashboard route read `urlpatterns` here."""

from __future__ import annotations

from django.urls import URLPattern

from linkpay.dashboard import urls as link_pages
from payments.dashboard import urls as dashboard_pages

app_name = "dashboard"

urlpatterns: list[URLPattern] = [*dashboard_pages.urlpatterns, *link_pages.urlpatterns]
