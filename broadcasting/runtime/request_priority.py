"""
HTTP requests and the fan-out take turns on an event loop.

A server process runs its REST requests and its socket fan-out on one event loop, and
Django's work for a request in a thread that needs the same GIL. Left to themselves,
a large fan-out and a short write share the loop and the GIL at the loop's pace: every
trip the request makes through the loop waits for a chunk of the fan-out, and its
thread gets the GIL every other switch interval, so a write took many times longer
under a large fan-out (bench/RESULTS.md).

So, while a request of this loop is being answered (from the moment its body has been
read until its response is handed to the server: neither a slow upload nor a slow
download counts), the fan-out waits between two chunks of sockets until no request is
left, but never so long that it gets less than REALTIME["FANOUT_SHARE_DURING_REQUESTS"]
of the loop (0.25: it waits at most three times as long as the chunk it just sent
took). A flood of requests thus slows deliveries at most fourfold and never stops
them. With no request running, the fan-out only gives the loop a turn between chunks.

What it changes (measured in bench/RESULTS.md): at writes the fan-out keeps up with, a
REST write under a large fan-out takes about half as long, and deliveries are as quick.
When writes come faster than the fan-out can deliver, each delivery still ends when
it would have, since the fan-out does the same work, but the writes no longer wait
for it: they commit sooner, and their events wait longer for their sockets.

The HTTP side is realtime_site/http_handler.py; the fan-out side is ``dispatch`` in
delivery/fanout.py.
"""

import asyncio

from broadcasting.runtime.per_loop import PerLoop


class BusyRequests:
    """The requests one event loop is answering now, and the fan-out chunks waiting for them to end."""

    def __init__(self) -> None:
        self.count = 0
        self._waiters: list[asyncio.Future] = []

    def turn(self) -> "RequestTurn":
        return RequestTurn(self)

    async def yield_to_requests(self, max_wait_secs: float) -> None:
        """Between two fan-out chunks: wait for running requests to end, for at most ``max_wait_secs``."""
        if not self.count:
            await asyncio.sleep(0)  # a bare yield: give the loop a turn
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await asyncio.wait({waiter}, timeout=max_wait_secs)
        finally:
            self._waiters.remove(waiter)

    def _ended(self) -> None:
        self.count -= 1
        if not self.count:
            for waiter in self._waiters:
                if not waiter.done():
                    waiter.set_result(None)


class RequestTurn:
    """One request's claim: counted from ``take()`` until ``release()`` (both idempotent)."""

    __slots__ = ("_busy", "_taken")

    def __init__(self, busy: BusyRequests) -> None:
        self._busy = busy
        self._taken = False

    def take(self) -> None:
        if not self._taken:
            self._taken = True
            self._busy.count += 1

    def release(self) -> None:
        if self._taken:
            self._taken = False
            self._busy._ended()


_per_loop: PerLoop[BusyRequests] = PerLoop(lambda loop: BusyRequests())


def busy_requests(loop: asyncio.AbstractEventLoop | None = None) -> BusyRequests:
    """The requests of ``loop`` (default: the running one)."""
    return _per_loop.get(loop)
