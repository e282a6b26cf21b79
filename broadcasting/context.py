"""
Per-request and per-block state that travels with the code making a change.

- The writing client's id (from the ``X-Client-ID`` header, set by ClientIdMiddleware),
  so the event of a REST write skips the socket that made it (the seed's exclude_client).
- Whether broadcasting is suppressed (the seed's ``broadcast=False``), for data
  migrations, fixtures and maintenance scripts::

      from broadcasting import no_broadcast

      with no_broadcast():
          Post.objects.create(...)   # committed, never announced

Both are context variables, so they follow a request through sync_to_async threads and
never leak between concurrent requests.
"""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

CLIENT_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

_current_client_id: ContextVar[str | None] = ContextVar("realtime_client_id", default=None)
_suppressed: ContextVar[bool] = ContextVar("realtime_suppressed", default=False)


def is_valid_client_id(value: str | None) -> bool:
    return bool(value) and CLIENT_ID_RE.match(value) is not None


def current_client_id() -> str | None:
    """The id of the client whose request is making the current change, if it sent one."""
    return _current_client_id.get()


@contextmanager
def acting_client(client_id: str | None) -> Iterator[None]:
    """Attribute the changes made inside the block to ``client_id`` (None: to nobody)."""
    token = _current_client_id.set(client_id)
    try:
        yield
    finally:
        _current_client_id.reset(token)


def broadcasting_suppressed() -> bool:
    return _suppressed.get()


@contextmanager
def no_broadcast() -> Iterator[None]:
    """Changes saved inside the block commit as usual but send no event."""
    token = _suppressed.set(True)
    try:
        yield
    finally:
        _suppressed.reset(token)
