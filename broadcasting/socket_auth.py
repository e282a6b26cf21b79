"""
Token authentication for sockets opened by non-browser clients.

Browsers authenticate with the session cookie (Channels' AuthMiddlewareStack). Other
clients send ``Authorization: Token <key>`` on the handshake, the same DRF token the
REST API takes. A token that does not match an active user marks the scope so the
consumer refuses the socket with 4401 instead of silently treating it as anonymous.
"""

from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from rest_framework.authtoken.models import Token

from .accounts import TOKEN_KEY_SCOPE_KEY
from .handshake import scope_header

AUTH_ERROR_SCOPE_KEY = "realtime_auth_error"


@database_sync_to_async
def _active_user_for_token(key: str):
    token = Token.objects.select_related("user").filter(key=key).first()
    if token is None or not token.user.is_active:
        return None
    return token.user


class TokenAuthMiddleware(BaseMiddleware):
    """Sets scope["user"] from an ``Authorization: Token`` header; runs inside AuthMiddlewareStack."""

    async def __call__(self, scope, receive, send):
        header = scope_header(scope, b"authorization")
        if header is not None:
            scheme, _, key = header.partition(" ")
            if scheme.lower() == "token":
                user = await _active_user_for_token(key.strip())
                if user is None:
                    scope = {**scope, AUTH_ERROR_SCOPE_KEY: "Invalid or inactive token."}
                else:
                    scope = {**scope, "user": user, TOKEN_KEY_SCOPE_KEY: key.strip()}
        return await super().__call__(scope, receive, send)
