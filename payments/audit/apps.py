"""The Django admin with Spoke's operator site (settings.INSTALLED_APPS names this config
instead of "django.contrib.admin"; `admin.site` is then a SpokeAdminSite)."""

from __future__ import annotations

from django.contrib.admin.apps import AdminConfig


class SpokeAdminConfig(AdminConfig):
    default_site = "payments.audit.admin_site.SpokeAdminSite"

    def ready(self) -> None:
        super().ready()
        from payments.audit import receivers  # noqa: F401  (sign-in signals)
