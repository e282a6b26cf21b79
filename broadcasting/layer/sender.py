"""
EventSender: publishes committed events from a thread of its own, so a writer never
waits on the channel layer.

A transaction's commit hands each of its events to the process's sender, an append
to a queue that takes microseconds whatever state Redis is in. The sender thread takes
what is queued, up to ROUND_EVENTS at a time, and sends it in one round (``group_send``
of each event, in order within a channel, channels side by side), bounded by
REALTIME["PUBLISH_TIMEOUT_SECS"]. When a round fails or
times out (Redis down, frozen, full) the sender's circuit opens for
REALTIME["PUBLISH_RETRY_SECS"]: rounds meanwhile are dropped at once, counted in
``realtime_publish_failures_total``, and sockets get those events from the history
(every process's fanout checks the database every SEQ_CHECK_INTERVAL_SECS), so nothing
is lost and no write waits. At most REALTIME["SENDER_QUEUE_EVENTS"] events wait; past
that the oldest are dropped the same way. A process that exits (a shell, a
management command) first gives the queue up to PUBLISH_TIMEOUT_SECS to drain.

Channels' in-memory layer lives on the server's event loop and cannot block, so
layer/transport.py sends to it directly; this sender is for layers that do I/O.

**Warmed up at a server's start.** The thread starts with the first event, and its
first round opens its own connections (a thread's event loop cannot use another's),
which made a process's first write on Redis its slowest to reach sockets
(bench/RESULTS.md). A server process calls ``warm_up`` as it starts, so the thread and
its connections are ready before the first write.
"""

import asyncio
import collections
import logging
import threading
import time
from collections.abc import Awaitable, Callable

from broadcasting import metrics
from broadcasting.conf import realtime_setting
from broadcasting.layer import groups
from broadcasting.runtime.circuit import Circuit
from broadcasting.wire.events import LiveEvent

logger = logging.getLogger(__name__)

# Most events sent in one round: a round of a bulk write's events stays well inside the timeout.
ROUND_EVENTS = 500

# send_round(events): send one round to the layer; raises when the layer failed.
SendRound = Callable[[list[LiveEvent]], Awaitable[None]]
# connect(): open the thread's connections to the layer; raises when it could not.
Connect = Callable[[], Awaitable[None]]


class EventSender:
    def __init__(
        self, send_round: SendRound = groups.send_round, connect: Connect | None = groups.open_connection
    ) -> None:
        self.send_round = send_round
        self.connect = connect
        self._queue: collections.deque[LiveEvent] = collections.deque()
        self._wakeup = threading.Condition()
        self._busy = False
        self._thread: threading.Thread | None = None
        self.circuit = Circuit("Publishing to the channel layer")

    def submit(self, event: LiveEvent) -> None:
        """Called by the commit queue after commit: queue ``event``; never waits."""
        with self._wakeup:
            self._queue.append(event)
            overflow = len(self._queue) - realtime_setting("SENDER_QUEUE_EVENTS")
            dropped = [self._queue.popleft() for _ in range(max(0, overflow))]
            self._wakeup.notify()
        self._count_dropped(dropped, "the sender's queue is full")
        if self._thread is None or not self._thread.is_alive():
            self._start()

    def drain(self, timeout_secs: float) -> bool:
        """Wait until everything queued has been sent or dropped; return whether it has."""
        deadline = time.monotonic() + timeout_secs
        with self._wakeup:
            while self._queue or self._busy:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._wakeup.wait(remaining)
        return True

    def warm_up(self) -> None:
        """Called as a server process starts: the thread starts and connects now, not with the first event."""
        self._start()

    def _start(self) -> None:
        with self._wakeup:
            if self._thread is not None and self._thread.is_alive():
                return
            self._busy = True  # until the thread has connected and found the queue empty (see drain)
            self._thread = threading.Thread(target=self._run, name="realtime-event-sender", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._connect(loop)
        while True:
            with self._wakeup:
                while not self._queue:
                    self._busy = False
                    self._wakeup.notify_all()
                    self._wakeup.wait()
                batch = [self._queue.popleft() for _ in range(min(len(self._queue), ROUND_EVENTS))]
                self._busy = True
            self._send(loop, batch)

    def _connect(self, loop: asyncio.AbstractEventLoop) -> None:
        """
        Open the thread's connections. Only a head start: a failure here is logged and
        changes nothing else (the first round finds the layer as it is, and decides).
        """
        if self.connect is None:
            return
        try:
            loop.run_until_complete(asyncio.wait_for(self.connect(), realtime_setting("PUBLISH_TIMEOUT_SECS")))
        except Exception as error:
            logger.info("The event sender could not connect to the layer yet (%s: %s).", type(error).__name__, error)

    def _send(self, loop: asyncio.AbstractEventLoop, batch: list[LiveEvent]) -> None:
        if not self.circuit.closed():
            self._count_dropped(batch, None)
            return
        timeout_secs = realtime_setting("PUBLISH_TIMEOUT_SECS")
        try:
            loop.run_until_complete(asyncio.wait_for(self.send_round(batch), timeout_secs))
        except Exception as error:
            self.circuit.failed(error, realtime_setting("PUBLISH_RETRY_SECS"))
            self._count_dropped(batch, f"the layer failed ({type(error).__name__}: {error})")
            return
        for event in batch:
            metrics.events_published.labels(event.channel).inc()

    def _count_dropped(self, events: list[LiveEvent], reason: str | None) -> None:
        for event in events:
            metrics.publish_failures.labels(event.channel).inc()
        if events and reason is not None:
            logger.warning(
                "Not publishing %d event(s) (%s, seq %s…): %s; sockets get them from the history.",
                len(events),
                events[0].channel,
                events[0].seq,
                reason,
            )

    def drain_at_exit(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            self.drain(realtime_setting("PUBLISH_TIMEOUT_SECS"))
