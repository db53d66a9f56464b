from __future__ import annotations

from django.urls import path

from hub.consumers import ChannelConsumer, SubscribeConsumer

websocket_urlpatterns = [
    path("api/hub/subscribe", SubscribeConsumer.as_asgi()),
    path("ws/channel/", ChannelConsumer.as_asgi()),
]
