"""
Per-request and per-block state that travels with the code making a change.

- The writing client: its id (from the ``X-Client-ID`` header, set by
  ClientIdMiddleware) and the signed-in user making the request, so the event of a
  REST write skips the socket that made it (the FastAPI guide's exclude_client). The two go
  together as one key, ``<user pk>:<client_id>``: a client id only skips sockets of the
  same signed-in user, so nobody who learns another tab's client_id can make that tab
  miss an event. Anonymous writes skip nobody.
- Whether broadcasting is suppressed (the FastAPI guide's ``broadcast=False``), for data
  migrations, fixtures and maintenance scripts::

      from broadcasting import no_broadcast

      with no_broadcast():
          Post.objects.create(...)   # committed, never announced

Both are context variables, so they follow a request through sync_to_async threads and
never leak between concurrent requests.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from broadcasting.conf import realtime_setting
from broadcasting.wire.client_ids import client_key

_acting_client: ContextVar[tuple[str, Callable[[], Any]] | None] = ContextVar("realtime_client", default=None)
_suppressed: ContextVar[bool] = ContextVar("realtime_suppressed", default=False)


def current_writer_key() -> str | None:
    """
    The exclusion key of the client whose request is making the current change: None
    unless it sent a client id and is signed in (read now, after DRF authenticated it).
    """
    acting = _acting_client.get()
    if acting is None:
        return None
    client_id, current_user = acting
    user = current_user()
    if user is None or not user.is_authenticated:
        return None
    return client_key(user.pk, client_id)


@contextmanager
def acting_client(client_id: str | None, current_user: Callable[[], object]) -> Iterator[None]:
    """
    Attribute the changes made inside the block to ``client_id`` of whoever
    ``current_user()`` returns when a change is made (None client id: to nobody).
    """
    token = _acting_client.set((client_id, current_user) if client_id is not None else None)
    try:
        yield
    finally:
        _acting_client.reset(token)


def broadcasting_suppressed() -> bool:
    """Whether changes made now announce nothing: inside no_broadcast(), or with REALTIME["BROADCAST"] off."""
    return _suppressed.get() or not realtime_setting("BROADCAST")


@contextmanager
def no_broadcast() -> Iterator[None]:
    """Changes saved inside the block commit as usual but send no event."""
    token = _suppressed.set(True)
    try:
        yield
    finally:
        _suppressed.reset(token)
