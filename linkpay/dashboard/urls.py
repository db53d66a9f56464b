"""The dashboard's link pages; config/dashboard_urls.py mounts them under /dashboard/ in the
`payments:dashboard` namespace (names `links`, `link_create`, `link_created`, `link_cancel`)."""

from __future__ import annotations

from django.urls import URLPattern, path

from linkpay.dashboard import views

urlpatterns: list[URLPattern] = [
    path("links/", views.links_view, name="links"),
    path("links/new/", views.link_create_view, name="link_create"),
    path("links/created/", views.link_created_view, name="link_created"),
    path("links/<str:link_id>/cancel/", views.link_cancel_view, name="link_cancel"),
]
