"""
The WebSocket application: origin check, session and token auth, then /ws/<channel>.

A socket path with no route gets the same refusal as an unknown channel (an
``unknown_channel`` error frame, close 4404), never an HTTP 500.
"""

from channels.routing import URLRouter
from django.urls import re_path

from broadcasting.sockets.auth import SocketAuthMiddleware
from broadcasting.sockets.consumer import LiveChannelConsumer, NoRouteConsumer
from broadcasting.sockets.multiplex import MultiplexConsumer
from broadcasting.sockets.origins import AllowedOriginsOnly

websocket_urlpatterns = [
    re_path(r"^ws/?$", MultiplexConsumer.as_asgi()),
    re_path(r"^ws/(?P<channel>[A-Za-z0-9_-]+)/?$", LiveChannelConsumer.as_asgi()),
    re_path(r"^ws/(?P<channel>[A-Za-z0-9_-]+)/(?P<pk>[A-Za-z0-9_-]{1,64})/?$", LiveChannelConsumer.as_asgi()),
    re_path(r"", NoRouteConsumer.as_asgi()),
]

# None of these wraps ``send``, so a consumer's outbox writes straight to the server
# (and, on daphne, can ask it how much it holds for the socket: delivery/outbox.py).
websocket_application = AllowedOriginsOnly(SocketAuthMiddleware(URLRouter(websocket_urlpatterns)))
