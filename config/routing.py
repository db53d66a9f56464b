"""WebSocket routing, gathered from the apps.

Each app wraps its own consumers: protocol routes authenticate with a signed nonce and accept any
Origin (the Connext client sends none); session-authenticated routes wrap themselves in
AllowedHostsOriginValidator + AuthMiddlewareStack (cross-site WebSocket hijacking)."""

from __future__ import annotations

from channels.routing import URLRouter

from hub.routing import websocket_urlpatterns as hub_routes
from payments.routing import websocket_urlpatterns as payments_routes

websocket_application = URLRouter([*hub_routes, *payments_routes])
