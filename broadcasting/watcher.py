"""
SeqWatcher: each process's check that its sockets are not behind the database.

Once every REALTIME["SEQ_CHECK_INTERVAL_SECS"], for each channel with sockets in this
process, one query reads the channel's committed seq and every socket of the channel
checks in with it (LiveChannelConsumer.check_in): a socket still behind since the
previous check fetches what it missed from the history and rejoins its group; an idle
socket is sent a ``sync`` frame. This is what turns the channel layer's at-most-once
delivery (capacity, expiry, a Redis outage or restart) into exactly-once, in order:
no socket stays silently deaf longer than about two intervals.
"""

import asyncio
import logging
from collections import defaultdict
from typing import Protocol

from channels.db import database_sync_to_async

from .conf import realtime_setting
from .sequence import current_seq

logger = logging.getLogger(__name__)


class WatchedSocket(Protocol):
    channel: str

    async def check_in(self, committed_seq: int) -> None: ...


class SeqWatcher:
    def __init__(self) -> None:
        self._sockets: dict[str, set[WatchedSocket]] = defaultdict(set)
        self._tasks: dict[str, asyncio.Task] = {}

    def watch(self, socket: WatchedSocket) -> None:
        """Called when a socket has subscribed; starts the channel's check loop if needed."""
        self._sockets[socket.channel].add(socket)
        task = self._tasks.get(socket.channel)
        loop = asyncio.get_running_loop()
        if task is None or task.done() or task.get_loop() is not loop:
            self._tasks[socket.channel] = loop.create_task(self._check_forever(socket.channel))

    def unwatch(self, socket: WatchedSocket) -> None:
        """Called when a socket has gone."""
        self._sockets[socket.channel].discard(socket)

    async def _check_forever(self, channel: str) -> None:
        while self._sockets[channel]:
            await asyncio.sleep(realtime_setting("SEQ_CHECK_INTERVAL_SECS"))
            try:
                committed_seq = await database_sync_to_async(current_seq)(channel)
            except Exception as error:
                logger.warning("Could not read the seq of channel %r: %s", channel, error)
                continue
            for socket in list(self._sockets[channel]):
                try:
                    await socket.check_in(committed_seq)
                except Exception:
                    logger.exception("Check-in of a socket on channel %r failed.", channel)


seq_watcher = SeqWatcher()
