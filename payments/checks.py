"""System checks of the merchant platform's settings (run by `manage.py check --deploy`)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register


@register(Tags.security, deploy=True)
def webhooks_private_destinations(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    if getattr(settings, "WEBHOOKS_ALLOW_PRIVATE_DESTINATIONS", False) and not settings.DEBUG:
        return [Warning(
            "WEBHOOKS_ALLOW_PRIVATE_DESTINATIONS is on in production: merchants' webhooks can reach "
            "loopback, private and cloud-metadata addresses (server-side request forgery).",
            hint="Unset WEBHOOKS_ALLOW_PRIVATE_DESTINATIONS; it is for development receivers only.",
            id="payments.W001",
        )]
    return []
