from __future__ import annotations

from channels.auth import AuthMiddlewareStack
from channels.security.websocket import AllowedHostsOriginValidator
from django.urls import URLPattern, URLResolver, path

from payments.dashboard.consumers import DashboardConsumer

websocket_urlpatterns: list[URLPattern | URLResolver] = [
    # session cookie auth: refuse foreign Origins (cross-site WebSocket hijacking, threat W7)
    path("ws/dashboard/", AllowedHostsOriginValidator(AuthMiddlewareStack(DashboardConsumer.as_asgi()))),
]
