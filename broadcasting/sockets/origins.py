"""
Which web pages may open a socket: the site's own origin, and the origins listed in
REALTIME["ALLOWED_ORIGINS"], compared whole (scheme, host and port).

Browsers send ``Origin`` on every WebSocket handshake and send the site's cookies
with it whatever page opened it, so this check is what keeps another site, or another
port of the same host, from reading a signed-in user's data (cross-site WebSocket
hijacking). ``ALLOWED_HOSTS`` only says which host names this server answers to; even
``*`` there never lets in an origin that is not the page's own.

The site's own origin is the handshake's ``Host`` (``X-Forwarded-Host`` when
``USE_X_FORWARDED_HOST``), if ALLOWED_HOSTS accepts it, with ``https`` when the socket
is ``wss``, when ``SECURE_SSL_REDIRECT`` (``DJANGO_HTTPS=1``), or when a trusted proxy says so
(``SECURE_PROXY_SSL_HEADER``); else ``http``. Entries of the list are written as in
Django's ``CSRF_TRUSTED_ORIGINS``: ``https://app.example.com``,
``http://localhost:3000``, ``https://*.example.com`` for any subdomain. A handshake
without ``Origin`` comes from a non-browser client, which cannot carry a victim's
cookies; it authenticates with a token and is let through.
"""

from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

from broadcasting.conf import realtime_setting
from broadcasting.runtime.client_text import scope_header

DEFAULT_PORTS = {"http": 80, "https": 443}


def normalize_origin(origin: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an origin, lowercased with its default port made explicit; None if malformed."""
    try:
        parts = urlsplit(origin.strip().lower())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname or parts.path not in ("", "/"):
        return None
    return parts.scheme, parts.hostname, port or DEFAULT_PORTS[parts.scheme]


def origin_matches(origin: tuple[str, str, int], pattern: str) -> bool:
    """Whether ``origin`` is the origin ``pattern`` names (``*.`` matches any subdomain, not the domain)."""
    wildcard = "://*." in pattern
    expected = normalize_origin(pattern.replace("://*.", "://", 1))
    if expected is None:
        return False
    scheme, host, port = expected
    if origin[0] != scheme or origin[2] != port:
        return False
    return origin[1].endswith("." + host) if wildcard else origin[1] == host


def own_origin(scope: dict) -> tuple[str, str, int] | None:
    """The site's origin as this handshake addresses it, or None if its host is not allowed."""
    host = scope_header(scope, b"host")
    if settings.USE_X_FORWARDED_HOST:
        host = scope_header(scope, b"x-forwarded-host") or host
    if not host:
        return None
    domain, _ = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS or _debug_hosts()):
        return None
    secure = scope.get("scheme") == "wss" or settings.SECURE_SSL_REDIRECT
    proxy_header = settings.SECURE_PROXY_SSL_HEADER
    if proxy_header is not None:
        name = proxy_header[0].removeprefix("HTTP_").lower().replace("_", "-").encode()
        secure = secure or scope_header(scope, name) == proxy_header[1]
    return normalize_origin(f"{'https' if secure else 'http'}://{host}")


def _debug_hosts() -> list[str]:
    # Django itself accepts these with DEBUG on and ALLOWED_HOSTS empty.
    return [".localhost", "127.0.0.1", "[::1]"] if settings.DEBUG else []


def origin_allowed(scope: dict) -> bool:
    """Whether a handshake may go on: no Origin, its own origin, or a listed one."""
    raw_origin = scope_header(scope, b"origin")
    if raw_origin is None:
        return True
    origin = normalize_origin(raw_origin)
    if origin is None:
        return False
    if origin == own_origin(scope):
        return True
    return any(origin_matches(origin, pattern) for pattern in realtime_setting("ALLOWED_ORIGINS"))


class AllowedOriginsOnly:
    """ASGI middleware: a socket handshake from another origin is refused with HTTP 403."""

    def __init__(self, application) -> None:
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and not origin_allowed(scope):
            denier = WebsocketDenier()
            return await denier(scope, receive, send)
        return await self.application(scope, receive, send)
