"""
The WebSocket application: origin check, session and token auth, then /ws/<channel>.
"""

from urllib.parse import ParseResult

from channels.auth import AuthMiddlewareStack
from channels.routing import URLRouter
from channels.security.websocket import OriginValidator
from django.conf import settings
from django.urls import re_path

from .conf import realtime_setting
from .consumers import LiveChannelConsumer
from .outbox import RecordServerSend
from .socket_auth import TokenAuthMiddleware

websocket_urlpatterns = [
    re_path(r"^ws/(?P<channel>[A-Za-z0-9_-]+)/?$", LiveChannelConsumer.as_asgi()),
]


class BrowserOriginValidator(OriginValidator):
    """
    Refuses (HTTP 403) handshakes whose Origin is not an allowed host or origin.

    Browsers always send Origin, so that is where cross-site socket hijacking is
    stopped. A handshake without one comes from a non-browser client, which
    authenticates with a token and is let through.
    """

    def valid_origin(self, parsed_origin: ParseResult | None) -> bool:
        if parsed_origin is None:
            return True
        return self.validate_origin(parsed_origin)


def allowed_origins() -> list[str]:
    hosts = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not hosts:
        hosts = ["localhost", "127.0.0.1", "[::1]"]
    return hosts + list(realtime_setting("ALLOWED_ORIGINS"))


websocket_application = RecordServerSend(
    BrowserOriginValidator(
        AuthMiddlewareStack(TokenAuthMiddleware(URLRouter(websocket_urlpatterns))),
        allowed_origins(),
    )
)
