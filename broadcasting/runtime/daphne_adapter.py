"""
daphne's adapter: what the outbox needs of daphne that its ASGI interface does not say.

- daphne never makes a send wait: every frame goes into the Twisted transport's buffer
  at once, so a client that does not read grows that buffer instead of slowing the
  send. The outbox reads the buffer's size (``dataBuffer`` and ``_tempDataLen``, Twisted
  internals) to find such a client.
- autobahn drops a connection 1 s after its close frame unless the client answers
  (``closeHandshakeTimeout``).
- autobahn refuses close codes 1009, 1011 and 1012 from an application; 1000 it takes.

broadcasting/tests/runtime/test_daphne_adapter.py fails if a pinned daphne, autobahn or
Twisted stops holding these; on any other server every function here does nothing.
"""

import functools
from collections.abc import Callable, Coroutine
from typing import Any

ServerSend = Callable[[dict[str, Any]], Coroutine[Any, Any, None]]

# The close code daphne takes from an application when it refuses the one asked for.
CLOSE_CODE_IT_TAKES = 1000


def protocol_of(server_send: ServerSend) -> Any | None:
    """daphne's protocol object behind a socket's send (``functools.partial(server.handle_reply, protocol)``)."""
    protocol = server_send.args[0] if isinstance(server_send, functools.partial) and server_send.args else None
    return protocol if hasattr(getattr(protocol, "transport", None), "dataBuffer") else None


def server_backlog_probe(server_send: ServerSend) -> Callable[[], int] | None:
    """How many bytes daphne holds for this socket, as a function; None on servers that make sends wait."""
    protocol = protocol_of(server_send)
    if protocol is None:
        return None
    transport = protocol.transport
    return lambda: len(transport.dataBuffer) + getattr(transport, "_tempDataLen", 0)


def wait_longer_for_close(server_send: ServerSend, timeout_secs: float) -> None:
    """Give a slow reader ``timeout_secs`` to read its way to our close frame before daphne drops it."""
    protocol = protocol_of(server_send)
    if protocol is not None and hasattr(protocol, "closeHandshakeTimeout"):
        protocol.closeHandshakeTimeout = timeout_secs
