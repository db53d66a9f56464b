"""Mounted at the site root: the Card's page and its chain relay."""

from __future__ import annotations

from django.urls import URLPattern, path

from hub.card import views

app_name = "card"

urlpatterns: list[URLPattern] = [
    path("card/", views.card_page, name="page"),
    path("card/rpc", views.card_rpc, name="rpc"),
    path("card/sw.js", views.card_service_worker, name="service_worker"),
]
