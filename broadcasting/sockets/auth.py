"""
Who is behind a socket: the session cookie, or a token.

Browsers authenticate with Django's session cookie, checked as Channels' auth does
(``channels.auth.get_user``: the session's user, still active, with the password hash
the session was made with). Other clients send ``Authorization: Token <key>`` on the
handshake, the same DRF token the REST API takes. A token that does not match an
active user marks the scope so the consumer refuses the socket with 4401 instead of
silently treating it as anonymous.

This is one ASGI layer where Channels' AuthMiddlewareStack is three (cookies, session,
user) and the token a fourth: each layer keeps its own copy of the scope and its own
frame for the socket's whole life, and a socket is mostly idle. The session is only
read here (a socket never writes one), so the session layer's wrapped ``send``, which
saves sessions on HTTP responses, has nothing to do for sockets and is left out.
"""

from importlib import import_module

from channels.auth import get_user
from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import parse_cookie
from rest_framework.authtoken.models import Token

from broadcasting.runtime.client_text import scope_header
from broadcasting.sockets.accounts import TOKEN_KEY_SCOPE_KEY

AUTH_ERROR_SCOPE_KEY = "realtime_auth_error"


@database_sync_to_async
def _active_user_for_token(key: str):
    token = Token.objects.select_related("user").filter(key=key).first()
    if token is None or not token.user.is_active:
        return None
    return token.user


class SocketAuthMiddleware:
    """Sets scope["cookies"], scope["session"] and scope["user"] (and the token's key) for a socket."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.session_store = import_module(settings.SESSION_ENGINE).SessionStore

    async def __call__(self, scope, receive, send):
        cookie_header = scope_header(scope, b"cookie")
        cookies = parse_cookie(cookie_header) if cookie_header else {}
        scope = {**scope, "cookies": cookies, "session": self.session_store(cookies.get(settings.SESSION_COOKIE_NAME))}
        authorization = scope_header(scope, b"authorization")
        scheme, _, key = (authorization or "").partition(" ")
        if authorization is not None and scheme.lower() == "token":
            user = await _active_user_for_token(key.strip())
            if user is None:
                scope.update({"user": AnonymousUser(), AUTH_ERROR_SCOPE_KEY: "Invalid or inactive token."})
            else:
                scope.update({"user": user, TOKEN_KEY_SCOPE_KEY: key.strip()})
        else:
            scope["user"] = await get_user(scope)
        return await self.inner(scope, receive, send)
