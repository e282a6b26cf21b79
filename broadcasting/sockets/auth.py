"""
Who is behind a socket: the session cookie, or a token.

Browsers authenticate with Django's session cookie, checked as Channels' auth does
(``channels.auth.get_user``: the session's user, still active, with the password hash
the session was made with). Other clients send ``Authorization: Token <key>`` on the
handshake, the same DRF token the REST API takes. A token that does not match an
active user marks the scope so the consumer refuses the socket with 4401 instead of
silently treating it as anonymous. A handshake without credentials costs no thread;
token handshakes that arrive together share one query.

This is one ASGI layer where Channels' AuthMiddlewareStack is three (cookies, session,
user) and the token a fourth: each layer keeps its own copy of the scope and its own
frame for the socket's whole life, and a socket is mostly idle. The session is only
read here (a socket never writes one), so the session layer's wrapped ``send``, which
saves sessions on HTTP responses, has nothing to do for sockets and is left out.
"""

import asyncio
from importlib import import_module

from channels.auth import get_user
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import parse_cookie

from broadcasting.authentication import users_for_tokens
from broadcasting.runtime.client_text import scope_header
from broadcasting.runtime.db_thread import database_call
from broadcasting.runtime.per_loop import PerLoop
from broadcasting.sockets.accounts import TOKEN_KEY_SCOPE_KEY

AUTH_ERROR_SCOPE_KEY = "realtime_auth_error"


def _active_users_for_tokens(keys: list[str]) -> dict[str, object]:
    """The active user behind each of ``keys`` that is a token (one raw join, as REST's)."""
    return {key: user for key, user in users_for_tokens(keys).items() if user.is_active}


class TokenLookups:
    """
    The token handshakes of one event loop, looked up together: those that arrive in
    the same turn of the loop (a reconnect storm) share one query and one thread hop.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.waiting: dict[str, list[asyncio.Future]] = {}
        self.looking_up: set[asyncio.Task] = set()

    async def user_for(self, key: str) -> object | None:
        """The active user whose token ``key`` is, or None."""
        if not self.waiting:
            self.loop.call_soon(self._look_up)
        answer = self.loop.create_future()
        self.waiting.setdefault(key, []).append(answer)
        return await answer

    def _look_up(self) -> None:
        waiting, self.waiting = self.waiting, {}
        task = self.loop.create_task(database_call(_active_users_for_tokens)(list(waiting)))
        self.looking_up.add(task)
        task.add_done_callback(self.looking_up.discard)
        task.add_done_callback(lambda done: self._answer(done, waiting))

    @staticmethod
    def _answer(done: asyncio.Task, waiting: dict[str, list[asyncio.Future]]) -> None:
        error = None if done.cancelled() else done.exception()
        users = {} if done.cancelled() or error is not None else done.result()
        for key, answers in waiting.items():
            for answer in answers:
                if answer.done():
                    continue
                if error is not None:
                    answer.set_exception(error)
                else:
                    answer.set_result(users.get(key))


_token_lookups: PerLoop[TokenLookups] = PerLoop(TokenLookups)


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
            user = await _token_lookups.get().user_for(key.strip())
            if user is None:
                scope.update({"user": AnonymousUser(), AUTH_ERROR_SCOPE_KEY: "Invalid or inactive token."})
            else:
                scope.update({"user": user, TOKEN_KEY_SCOPE_KEY: key.strip()})
        elif not scope["session"].session_key:
            scope["user"] = AnonymousUser()  # no session cookie: nobody to look up, no thread hop
        else:
            scope["user"] = await get_user(scope)
        return await self.inner(scope, receive, send)
