"""
ReplayPages: feeds that ask for the same stretch of history together share one read.

After a deploy every client of the old server resumes at once, most from the same seq,
and each feed would read the same page of the history in its own thread hop: thousands
of identical queries while REST writes wait. A page of committed events never changes,
so a read in flight, or finished within REPLAY_PAGE_KEEP_SECS, answers every feed that
asks for the same (channel, after, count); the events are shared as the fan-out shares
a live one.
"""

import asyncio

from broadcasting.log import history
from broadcasting.runtime.db_thread import database_call
from broadcasting.runtime.per_loop import PerLoop
from broadcasting.wire.events import LiveEvent

# How long a page read stays on hand for the next feed that asks for it.
REPLAY_PAGE_KEEP_SECS = 1.0

PageKey = tuple[str, int, int]


class ReplayPages:
    """The history pages of one event loop, read once for every feed asking together."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.reads: dict[PageKey, asyncio.Task[list[LiveEvent] | None]] = {}

    async def page(self, channel: str, after_seq: int, upto_seq: int, limit: int) -> list[LiveEvent] | None:
        """history.events_page's answer (None: no longer kept), shared with the feeds asking the same."""
        count = min(limit, upto_seq - after_seq)
        if count <= 0:
            return []
        key = (channel, after_seq, count)
        read = self.reads.get(key)
        if read is None:
            read = self.loop.create_task(
                database_call(history.events_page)(channel, after_seq, after_seq + count, count)
            )
            self.reads[key] = read
            read.add_done_callback(lambda done: self._keep(key, done))
        return await asyncio.shield(read)

    def _keep(self, key: PageKey, read: asyncio.Task) -> None:
        if read.cancelled() or read.exception() is not None:
            self._forget(key, read)  # a failed read is tried afresh by the next feed
        else:
            self.loop.call_later(REPLAY_PAGE_KEEP_SECS, self._forget, key, read)

    def _forget(self, key: PageKey, read: asyncio.Task) -> None:
        if self.reads.get(key) is read:
            del self.reads[key]


replay_pages: PerLoop[ReplayPages] = PerLoop(ReplayPages)
