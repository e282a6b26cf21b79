"""
uvicorn's adapter: the WebSocket protocol ``make serve`` gives uvicorn, its own
websockets-sansio protocol with less held per open socket. It leans on that protocol's
attributes (``queue``, ``writable``, ``request``, ``conn``…), which are not uvicorn's
public API: broadcasting/tests/runtime/test_uvicorn_adapter.py fails if a pinned
upgrade changes them.

An idle socket's memory is mostly the server's (bench/RESULTS.md, "Where an idle
socket's memory goes"), and three things uvicorn keeps for a socket's whole life are
only needed for a moment or hold far more than they are used for:

- the handshake's request and response (headers and all), needed until the accept
  has been sent and never again (the scope has its own copy of the request's headers);
- an ``asyncio.Queue`` for what the client sent: four deques, for a
  queue that uvicorn keeps at one or two messages by pausing reads after each;
- an ``asyncio.Event`` for "the transport takes writes": one more deque.

LeanWebSocketProtocol drops the first after the handshake and uses the two small
classes below for the others.

It also sends an open socket's text frames itself. A fan-out hands the same frame
text to every socket of an audience, and uvicorn would encode it, and websockets
frame it, once per socket. Here a frame is encoded and framed once (``text_frame``,
which keeps the last few) and each socket only writes those bytes to its transport.
That is only done where it is exactly what websockets would have sent: an open
connection with no extension negotiated (``make serve`` turns per-message deflate
off), the handshake done, no close sent or received, the transport taking writes.
Anything else, and everything else (the keepalive, the close handshake, flow
control, receiving), is uvicorn's and websockets' unchanged.
"""

import asyncio
import struct
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.protocol import State

# How many encoded frames text_frame keeps: the renderings of the events being fanned out.
TEXT_FRAMES_KEPT = 16
_text_frames: dict[str, bytes] = {}


def text_frame(text: str) -> bytes:
    """One unmasked, unfragmented text frame (RFC 6455 5.2), as a server sends it; the last few are kept."""
    frame = _text_frames.get(text)
    if frame is None:
        payload = text.encode()
        length = len(payload)
        if length < 126:
            header = struct.pack("!BB", 0x81, length)
        elif length < 1 << 16:
            header = struct.pack("!BBH", 0x81, 126, length)
        else:
            header = struct.pack("!BBQ", 0x81, 127, length)
        frame = header + payload
        if len(_text_frames) >= TEXT_FRAMES_KEPT:
            _text_frames.clear()
        _text_frames[text] = frame
    return frame


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

    async def send(self, message: Any) -> None:
        text = message.get("text") if message["type"] == "websocket.send" else None
        if (
            text is not None
            and message.get("bytes") is None
            and self.handshake_complete
            and not self.close_sent
            and not self.disconnected
            and self.initial_response is None
            and self.writable.is_set()
            and self.conn.state is State.OPEN
            and not self.conn.extensions
        ):
            self.transport.write(text_frame(text))
            return
        await super().send(message)

    def start_keepalive(self) -> None:
        """Called by uvicorn once the accept is sent: the handshake's request and response are done with."""
        # websockets' parser keeps the request for the socket's life, in a generator's
        # local; the scope has its own copy of the headers.
        self.request.headers.clear()
        self.request = None  # type: ignore[assignment]
        self.response = None  # type: ignore[assignment]
        super().start_keepalive()
