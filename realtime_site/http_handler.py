"""
OneThreadASGIHandler: Django's ASGI handler with the middleware chain and view run in
one thread hop per request.

Django's own ``ASGIHandler`` builds the middleware chain in async mode and adapts each
sync piece on its own: every ``MiddlewareMixin`` method, each sync-only middleware and
the (sync) DRF view is a ``sync_to_async`` or ``async_to_sync`` switch of its own,
twelve per REST write here. Each switch is a trip through the event loop, the loop
that also fans events out to the process's sockets, so under a large fan-out each trip
waits for the loop's next turn. Built in sync mode, the chain is plain function calls
in one worker thread, as under WSGI, and a request crosses the loop three times
(request start, the chain, the response's close).

That alone helped little: the request still shared the loop and the GIL with the
fan-out. So the handler also gives each request its turn, from its body read until its
response goes out, and the fan-out waits for it between chunks
(broadcasting/runtime/request_priority.py; the numbers are in bench/RESULTS.md).

**A pool of threads, not a thread per request.** Django's handler answers each
request in a thread of its own, started for it and ended after it (asgiref's
``ThreadSensitiveContext``). Whatever a thread keeps is then lost with every request:
its database connection, opened and closed each time whatever ``CONN_MAX_AGE`` says,
and the serializers broadcasting/wire/renderings.py keeps per thread to render events, built
again for each write; and starting and ending it cost every request a little too. Here
the chain runs in a pool of ``REQUEST_THREADS`` threads, as a threaded WSGI server
would, and no thread is started per request: a connection lives for ``CONN_MAX_AGE`` in its thread
and is checked before each request and after it, as Django's request signals do
(they still fire, in asgiref's one shared thread for thread-sensitive calls, where no
connection is open), so at most ``REQUEST_THREADS`` connections per process (one
thread on SQLite: settings.py says why), which made REST writes faster on both
databases (bench/RESULTS.md). A sync stream returned by a view is read in the pool too
(``read_in_pool``).

Async views (the readiness probe) still work: Django runs them with ``async_to_sync``
from that thread, on the server's loop. Every middleware the project uses can run
sync; ``load_middleware`` refuses one that cannot.
"""

from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIHandler
from django.db import close_old_connections, reset_queries
from django.http import HttpRequest, HttpResponseBase, StreamingHttpResponse

from broadcasting.runtime.request_priority import RequestTurn, busy_requests

# The turn of the request this task is answering (see __call__).
_request_turn: ContextVar[RequestTurn | None] = ContextVar("request_turn", default=None)


class OneThreadASGIHandler(ASGIHandler):
    """ASGI in, WSGI-style inside: the whole middleware chain in one thread hop."""

    def __init__(self) -> None:
        super().__init__()  # builds Django's async chain, once per process...
        self.load_middleware(is_async=False)  # ...which this sync chain replaces
        # Threads start with the first requests, so a server may fork after this.
        self.threads = ThreadPoolExecutor(settings.REQUEST_THREADS, thread_name_prefix="django-request")

    async def __call__(self, scope, receive, send) -> None:
        """Answer the request; from its body read until its response goes out, the fan-out gives it way."""
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        turn = busy_requests().turn()
        reset = _request_turn.set(turn)
        try:
            # Not within asgiref's ThreadSensitiveContext, as Django's __call__ would: it
            # starts a thread per request for what little the handler still does
            # thread-sensitively (request signals, closing the body and the response).
            await self.handle(scope, receive, send)
        finally:
            turn.release()
            _request_turn.reset(reset)

    async def read_body(self, receive):
        """Read the body; the request's turn starts once it is in (see runtime/request_priority.py)."""
        body = await super().read_body(receive)
        turn = _request_turn.get()
        if turn is not None:
            turn.take()
        return body

    async def send_response(self, response: HttpResponseBase, send) -> None:
        """Hand the response to the server; the turn ends here, so a client that reads slowly holds none."""
        turn = _request_turn.get()
        if turn is not None:
            turn.release()
        if isinstance(response, StreamingHttpResponse) and not response.is_async:
            response.streaming_content = self.read_in_pool(response.streaming_content)  # type: ignore[arg-type]
        await super().send_response(response, send)

    async def read_in_pool(self, parts: Iterator[bytes]) -> AsyncIterator[bytes]:
        """
        A sync stream (whitenoise's static files are FileResponses) read in the pool, a
        batch of parts per hop: Django's handler would read it on the loop and warn.
        """
        read_batch = sync_to_async(_next_batch, thread_sensitive=False, executor=self.threads)
        while batch := await read_batch(parts):
            yield batch

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        """The sync chain in one of the pool's threads; see the module docstring."""
        return await sync_to_async(self.get_response_in_pool, thread_sensitive=False, executor=self.threads)(request)

    def get_response_in_pool(self, request: HttpRequest) -> HttpResponseBase:
        """
        ``get_response`` with this thread's database connections looked after as
        Django's request_started and request_finished handlers would: closed when too
        old, broken, or left out of autocommit, before the request and after it.
        """
        reset_queries()
        close_old_connections()
        try:
            return self.get_response(request)
        finally:
            close_old_connections()


STREAM_BATCH_BYTES = 256 * 1024


def _next_batch(parts: Iterator[bytes]) -> bytes:
    """The next parts of a stream, joined, up to about STREAM_BATCH_BYTES; b"" at its end."""
    batch, size = [], 0
    for part in parts:
        batch.append(part)
        size += len(part)
        if size >= STREAM_BATCH_BYTES:
            break
    return b"".join(batch)


def get_one_thread_asgi_application() -> OneThreadASGIHandler:
    """Like ``django.core.asgi.get_asgi_application``: set Django up, return the handler."""
    import django

    django.setup(set_prefix=False)
    return OneThreadASGIHandler()
