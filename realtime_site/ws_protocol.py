"""
The WebSocket protocol ``make serve`` gives uvicorn: uvicorn's own websockets-sansio
protocol, with less held per open socket.

An idle socket's memory is mostly the server's (bench/RESULTS.md, "Where an idle
socket's memory goes"), and three things uvicorn keeps for a socket's whole life are
only needed for a moment or hold far more than they are used for:

- the handshake's request and response (headers and all), needed until the accept
  has been sent and never again (the scope has its own copy of the request's headers);
- an ``asyncio.Queue`` for what the client sent: four deques (about 3 KiB), for a
  queue that uvicorn keeps at one or two messages by pausing reads after each;
- an ``asyncio.Event`` for "the transport takes writes": one more deque.

LeanWebSocketProtocol drops the first after the handshake and uses the two small
classes below for the others. Everything else, the framing, the keepalive, the close
handshake and flow control, is uvicorn's and websockets' unchanged.
"""

import asyncio
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol


class ReceiveQueue:
    """
    What uvicorn uses of ``asyncio.Queue`` for a socket's received messages, in a list.

    One receiver at a time (an ASGI app awaits ``receive`` from one task); a receiver
    cancelled while waiting takes nothing, so no message is lost.
    """

    __slots__ = ("_getter", "_items")

    def __init__(self) -> None:
        self._items: list[Any] = []
        self._getter: asyncio.Future | None = None

    def put_nowait(self, item: Any) -> None:
        self._items.append(item)
        getter = self._getter
        if getter is not None and not getter.done():
            getter.set_result(None)

    def empty(self) -> bool:
        return not self._items

    def qsize(self) -> int:
        return len(self._items)

    async def get(self) -> Any:
        while not self._items:
            if self._getter is not None:
                raise RuntimeError("Two receivers are waiting on one WebSocket.")
            getter = self._getter = asyncio.get_running_loop().create_future()
            try:
                await getter
            finally:
                self._getter = None
        return self._items.pop(0)  # at most a few: uvicorn pauses reading after each message


class WritableFlag:
    """What uvicorn uses of ``asyncio.Event`` for "the transport takes writes"; waiters in a list."""

    __slots__ = ("_value", "_waiters")

    def __init__(self) -> None:
        self._value = False
        self._waiters: list[asyncio.Future] | None = None

    def is_set(self) -> bool:
        return self._value

    def set(self) -> None:
        if self._value:
            return
        self._value = True
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(True)

    def clear(self) -> None:
        self._value = False

    async def wait(self) -> bool:
        if self._value:
            return True
        waiter = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        try:
            await waiter
            return True
        finally:
            if self._waiters is not None and waiter in self._waiters:
                self._waiters.remove(waiter)


class LeanWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's websockets-sansio protocol, holding less per socket (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = ReceiveQueue()  # type: ignore[assignment]
        self.writable = WritableFlag()  # type: ignore[assignment]
        self.writable.set()

    def start_keepalive(self) -> None:
        """Called by uvicorn once the accept is sent: the handshake's request and response are done with."""
        # websockets' parser keeps the request for the socket's life, in a generator's
        # local; the scope has its own copy of the headers.
        self.request.headers.clear()
        self.request = None  # type: ignore[assignment]
        self.response = None  # type: ignore[assignment]
        super().start_keepalive()
