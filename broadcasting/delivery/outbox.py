"""
Outbox: what one socket still has to be sent, and how it gets to the server.

Nothing upstream ever awaits a socket. The fanout, replay and the socket's own
replies push already-encoded frames here without awaiting anything; the outbox hands
each to the ASGI server in order, and only a socket whose server pushes back gets a
writer task and a queue (see Outbox).

A socket that cannot keep up is its own problem. Past REALTIME["OUTBOX_MAX_BYTES"]
queued (counting what the server itself buffers for the socket where it does not
push back, as daphne does), or when one send has been stuck for
REALTIME["SEND_TIMEOUT_SECS"] (servers that push back, as uvicorn does), its queue is
dropped, it gets an ``error`` frame ``slow_consumer`` if the server still takes one,
and it is closed with 4408. The client resumes with ``since`` and loses nothing. Any
other send failure is that socket's alone too: it is closed with 1011. Either way the
``on_close`` hook runs at once, so the socket leaves the fanout before its close
handshake is over, and nothing is sent after the close.
"""

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from typing import Any

from broadcasting import metrics
from broadcasting.conf import realtime_setting
from broadcasting.runtime import asyncio_adapter, daphne_adapter
from broadcasting.runtime.daphne_adapter import ServerSend
from broadcasting.wire import frames
from broadcasting.wire.protocol import CloseCode, ErrorCode, error_frame

logger = logging.getLogger(__name__)

# A replay waits for room below this share of the limit before it queues its next page.
REPLAY_ROOM_SHARE = 0.5
REPLAY_ROOM_POLL_SECS = 0.02


class Outbox:
    """
    The frames one socket has yet to be sent, bounded.

    A frame is handed to the server at once when nothing is waiting ahead of it: the
    server's send is started right here and, on a server that is not pushing back, is
    over before it would ever suspend, so the common case costs no task switch. When
    the server does push back, the rest of that send, and every frame queued behind
    it, is finished by one writer task, in order, until the queue is empty again.
    """

    def __init__(
        self,
        server_send: ServerSend,
        *,
        channel_label: str,
        max_bytes: int,
        send_timeout_secs: float,
        on_close: Callable[[int], None],
    ) -> None:
        self._server_send = server_send
        self._server_backlog = daphne_adapter.server_backlog_probe(server_send)
        self.channel_label = channel_label
        self.max_bytes = max_bytes
        self.send_timeout_secs = send_timeout_secs
        self._on_close = on_close
        self._frames: deque[str] | None = None  # made only when a frame first has to wait
        self.queued_bytes = 0
        self.sending_since: float | None = None
        self.close_code: int | None = None  # set once: no frame is taken after it
        self._close_sent = False
        self._writer: asyncio.Task | None = None  # only while the server pushes back or frames wait
        self._loop = asyncio.get_running_loop()

    @classmethod
    def for_socket(cls, server_send: ServerSend, channel_label: str, on_close: Callable[[int], None]) -> "Outbox":
        """A socket's outbox, sized and timed by REALTIME["OUTBOX_MAX_BYTES"] and ["SEND_TIMEOUT_SECS"]."""
        return cls(
            server_send,
            channel_label=channel_label,
            max_bytes=realtime_setting("OUTBOX_MAX_BYTES"),
            send_timeout_secs=realtime_setting("SEND_TIMEOUT_SECS"),
            on_close=on_close,
        )

    @property
    def open(self) -> bool:
        """Whether frames are still taken (False from the moment a close is decided)."""
        return self.close_code is None

    def push(self, text: str) -> bool:
        """Send or queue one encoded frame; False when the socket is closing (or now too slow)."""
        if self.close_code is not None:
            return False
        if self.backlog_bytes() + len(text) > self.max_bytes:
            self.close_slow("Too far behind: more than OUTBOX_MAX_BYTES waiting to be sent.")
            return False
        if self._writer is None:
            # Start the server's send here; it is usually over before it would suspend.
            send = self._server_send({"type": "websocket.send", "text": text})
            try:
                awaiting = asyncio_adapter.start(send)
            except Exception as error:
                self._send_failed(error)
                return False
            if awaiting is asyncio_adapter.DONE:
                return True
            # The server pushes back: finish this send, then what queues behind it, in a task.
            self.sending_since = self._loop.time()
            self._writer = self._loop.create_task(self._drain(send, awaiting))
            return True
        self._queue_frame(text)
        self.queued_bytes += len(text)
        return True

    def _queue_frame(self, text: str) -> None:
        if self._frames is None:
            self._frames = deque()
        self._frames.append(text)

    def backlog_bytes(self) -> int:
        """Bytes queued here plus, on servers that never push back, in the server's buffer."""
        if self._server_backlog is None:
            return self.queued_bytes
        return self.queued_bytes + self._server_backlog()

    def close(self, code: int, error: dict[str, Any] | None = None) -> None:
        """Send ``error`` (if given) after the frames already queued, then close with ``code``."""
        if self.close_code is not None:
            return
        if error is not None:
            self.push(frames.encode(error))
            if self.close_code is not None:
                return  # that push found the socket too slow: closed 4408 instead
        self.close_code = code
        self._on_close(code)
        if self._writer is None:
            self._writer = self._loop.create_task(self._drain())

    def close_slow(self, reason: str) -> None:
        """Past the limit: drop the backlog, say ``slow_consumer`` if possible, close 4408."""
        if self.close_code is not None:
            return
        logger.info("Closing a slow socket on %r (4408): %s", self.channel_label, reason)
        metrics.slow_consumers.labels(self.channel_label).inc()
        self._frames = None
        self.queued_bytes = 0
        self.close_code = CloseCode.SLOW_CONSUMER
        self._on_close(CloseCode.SLOW_CONSUMER)
        # daphne drops a connection 1 s after its close frame unless the client answers;
        # a slow reader needs longer to read its way to the 4408.
        daphne_adapter.wait_longer_for_close(self._server_send, self.send_timeout_secs)
        if self._writer is not None:
            # The server is not taking frames: give up the stuck one; the close waits
            # for the server, which lets it through as soon as the client reads.
            self._writer.cancel()
            self._writer = self._loop.create_task(self._send_close_only())
            return
        self._queue_frame(frames.encode(error_frame(ErrorCode.SLOW_CONSUMER, reason)))
        self._writer = self._loop.create_task(self._drain())

    def stalled(self, now: float) -> bool:
        """Whether one send has been waiting on the server for longer than SEND_TIMEOUT_SECS."""
        return self.sending_since is not None and now - self.sending_since > self.send_timeout_secs

    def still_sending(self, now: float) -> bool:
        """False, and closing 4408, once a send has been stuck longer than SEND_TIMEOUT_SECS (or it is closing)."""
        if self.open and self.stalled(now):
            self.close_slow("A send has waited longer than SEND_TIMEOUT_SECS.")
        return self.open

    def has_replay_room(self) -> bool:
        """Whether a replay may queue more: the backlog is under REPLAY_ROOM_SHARE of the limit."""
        return self.backlog_bytes() <= self.max_bytes * REPLAY_ROOM_SHARE

    async def wait_for_room(self) -> None:
        """
        Called by a replay when there is no room: wait until the backlog is back under
        REPLAY_ROOM_SHARE of the limit. A client that reads nothing for
        SEND_TIMEOUT_SECS meanwhile is too slow and is closed 4408.
        """
        backlog = self.backlog_bytes()
        waited_since = self._loop.time()
        while self.close_code is None and not self.has_replay_room():
            await asyncio.sleep(REPLAY_ROOM_POLL_SECS)
            now, before, backlog = self._loop.time(), backlog, self.backlog_bytes()
            if backlog < before:
                waited_since = now
            elif now - waited_since > self.send_timeout_secs:
                self.close_slow("Read nothing of a replay for SEND_TIMEOUT_SECS.")

    def discard(self) -> None:
        """Called when the socket is gone: drop everything and stop writing."""
        if self.close_code is None:
            self.close_code = CloseCode.SEND_FAILED
        self._frames = None
        self.queued_bytes = 0
        if self._writer is not None:
            self._writer.cancel()
            self._writer = None

    # --- Writing ----------------------------------------------------------------------

    async def _drain(self, started_send=None, awaiting=None) -> None:
        try:
            if started_send is not None:
                await asyncio_adapter.finish_started(started_send, awaiting)
            while self._frames:
                text = self._frames.popleft()
                self.queued_bytes -= len(text)
                self.sending_since = self._loop.time()
                await self._server_send({"type": "websocket.send", "text": text})
            self._frames = None
            self.sending_since = None
            if self.close_code is not None and not self._close_sent:
                self._close_sent = True
                await self._send_close(int(self.close_code))
        except asyncio.CancelledError:
            raise
        except Exception as error:
            self._send_failed(error)
        finally:
            if self._writer is asyncio.current_task():
                self._writer = None

    def _send_failed(self, error: Exception) -> None:
        logger.info(
            "A send on %r failed (%s: %s); closing that socket.", self.channel_label, type(error).__name__, error
        )
        self._frames = None
        self.queued_bytes = 0
        self.sending_since = None
        if self.close_code is None:
            self.close_code = CloseCode.SEND_FAILED
            self._on_close(CloseCode.SEND_FAILED)
        self._writer = self._loop.create_task(self._send_close_only())

    async def _send_close_only(self) -> None:
        if self._close_sent:
            return
        self._close_sent = True
        code = self.close_code if self.close_code is not None else CloseCode.SEND_FAILED
        try:
            await self._send_close(int(code))
        except Exception as error:
            logger.debug("Closing a socket on %r failed too: %s", self.channel_label, error)

    async def _send_close(self, code: int) -> None:
        """Close with ``code``; with 1000 on a server that takes no other code below 3000 from an application."""
        try:
            await self._server_send({"type": "websocket.close", "code": code})
        except Exception:
            if code == 1000 or 3000 <= code <= 4999:
                raise
            await self._server_send({"type": "websocket.close", "code": daphne_adapter.CLOSE_CODE_IT_TAKES})
