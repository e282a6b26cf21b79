"""
The WebSocket application: origin check, session and token auth, then the one consumer
at /ws/, /ws/<channel> and /ws/<channel>/<pk>.

A socket path with no route gets the same refusal as an unknown channel (an
``unknown_channel`` error frame, close 4404), never an HTTP 500.
"""

from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.routing import URLRouter
from django.urls import re_path

from broadcasting.sockets.auth import SocketAuthMiddleware
from broadcasting.sockets.consumer import LiveSocketConsumer
from broadcasting.sockets.origins import AllowedOriginsOnly
from broadcasting.wire.protocol import CloseCode, ErrorCode, error_frame


class NoRouteConsumer(AsyncJsonWebsocketConsumer):
    """Any socket path that is not /ws/ or /ws/<channel>: refused like an unknown channel."""

    channel_layer_alias = None

    async def connect(self) -> None:
        await self.accept()
        await self.send_json(error_frame(ErrorCode.UNKNOWN_CHANNEL, "No channel at this path."))
        await self.close(code=int(CloseCode.UNKNOWN_CHANNEL))


live_socket = LiveSocketConsumer.as_asgi()

websocket_urlpatterns = [
    re_path(r"^ws/?$", live_socket),
    re_path(r"^ws/(?P<channel>[A-Za-z0-9_-]+)/?$", live_socket),
    re_path(r"^ws/(?P<channel>[A-Za-z0-9_-]+)/(?P<pk>[A-Za-z0-9_-]{1,64})/?$", live_socket),
    re_path(r"", NoRouteConsumer.as_asgi()),
]

# None of these wraps ``send``, so a consumer's outbox writes straight to the server
# (and, on daphne, can ask it how much it holds for the socket: delivery/outbox.py).
websocket_application = AllowedOriginsOnly(SocketAuthMiddleware(URLRouter(websocket_urlpatterns)))
