"""
ProcessFanout: what one server process does for all of its sockets of a channel.

**One layer subscription per process, not per socket.** For each channel with sockets
here, the process joins the channel's group once, with one channel-layer name, and a
relay task hands each event it receives to every local socket. A write thus costs the
layer one message per *process* (channels-redis: one push instead of thousands), and
the per-socket work is a dictionary lookup and a send of an already-encoded frame.
The relay survives layer outages: it retries with backoff and rejoins the group (a
Redis restarted empty has forgotten it).

**A check against the database.** Every REALTIME["SEQ_CHECK_INTERVAL_SECS"] one query
reads the channel's committed seq (and one more the accounts behind the local sockets,
see accounts.py) and every local socket checks in with it
(LiveChannelConsumer.check_in): a socket still behind since the previous check fetches
what it missed from the history; an idle one gets a ``sync``. This turns the layer's
at-most-once delivery (capacity, expiry, an outage) into exactly-once, in order: no
socket stays silently deaf longer than about two intervals.
"""

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Protocol

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from .accounts import account_states
from .conf import realtime_setting
from .publisher import group_name
from .sequence import current_seq

logger = logging.getLogger(__name__)

LAYER_RETRY_MAX_SECS = 5.0
# channels-redis forgets group members after a day; rejoin well before that.
GROUP_REJOIN_SECS = 3600.0


class LocalSocket(Protocol):
    channel: str
    delivery_lock: asyncio.Lock
    user_pk: object | None

    async def live_event(self, message: dict) -> None: ...

    async def check_in(self, committed_seq: int, accounts: dict) -> None: ...


@dataclass
class ChannelFanout:
    """The local sockets of one channel in one event loop, and the tasks serving them."""

    channel: str
    loop: asyncio.AbstractEventLoop
    sockets: set = field(default_factory=set)
    relay_name: str | None = None
    joined_at: float | None = None
    tasks: list[asyncio.Task] = field(default_factory=list)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    # Deliveries queued behind a busy socket's lock; held here so they are not collected.
    queued: set[asyncio.Task] = field(default_factory=set)

    async def start(self) -> None:
        layer = get_channel_layer()
        self.relay_name = await layer.new_channel()
        await self._join(layer)
        self.tasks = [self.loop.create_task(self._relay(layer)), self.loop.create_task(self._check_forever())]
        self.ready.set()

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        try:
            await get_channel_layer().group_discard(group_name(self.channel), self.relay_name)
        except Exception as error:
            logger.warning("Could not leave group of %r: %s", self.channel, error)

    async def _join(self, layer) -> bool:
        try:
            await layer.group_add(group_name(self.channel), self.relay_name)
        except Exception as error:
            # The check loop keeps sockets fed from the history meanwhile, and rejoins.
            logger.warning("Could not join group of %r: %s", self.channel, error)
            self.joined_at = None
            return False
        self.joined_at = self.loop.time()
        return True

    async def _relay(self, layer) -> None:
        delay_secs = 0.1
        while True:
            try:
                message = await layer.receive(self.relay_name)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                logger.warning("Layer receive for %r failed (%s); retrying in %.1fs.", self.channel, error, delay_secs)
                self.joined_at = None
                await asyncio.sleep(delay_secs)
                delay_secs = min(delay_secs * 2, LAYER_RETRY_MAX_SECS)
                continue
            delay_secs = 0.1
            await self.dispatch(message)

    async def dispatch(self, message: dict) -> None:
        """Hand one event to every local socket, in arrival order for each."""
        for socket in list(self.sockets):
            if socket.delivery_lock.locked():
                # Busy (connecting, or filling a gap): queue behind its lock (FIFO) so
                # one slow socket never holds up the others.
                queued = self.loop.create_task(self._deliver(socket, message))
                self.queued.add(queued)
                queued.add_done_callback(self.queued.discard)
            else:
                await self._deliver(socket, message)

    async def _deliver(self, socket: LocalSocket, message: dict) -> None:
        """One socket's delivery; its failure (say, it closed mid-send) is its own, never the relay's."""
        try:
            await socket.live_event(message)
        except Exception:
            logger.exception("Delivering seq %s to a socket on %r failed.", message.get("seq"), self.channel)

    async def _check_forever(self) -> None:
        layer = get_channel_layer()
        while True:
            await asyncio.sleep(realtime_setting("SEQ_CHECK_INTERVAL_SECS"))
            if self.joined_at is None or self.loop.time() - self.joined_at > GROUP_REJOIN_SECS:
                await self._join(layer)
            sockets = list(self.sockets)
            user_pks = {socket.user_pk for socket in sockets if socket.user_pk is not None}
            try:
                committed_seq = await database_sync_to_async(current_seq)(self.channel)
                accounts = await database_sync_to_async(account_states)(user_pks) if user_pks else {}
            except Exception as error:
                logger.warning("Could not read the seq of channel %r: %s", self.channel, error)
                continue
            for socket in sockets:
                try:
                    await socket.check_in(committed_seq, accounts)
                except Exception:
                    logger.exception("Check-in of a socket on channel %r failed.", self.channel)


class ProcessFanout:
    """The ChannelFanouts of this process, created with the first socket of a channel."""

    def __init__(self) -> None:
        self._fanouts: dict[tuple[int, str], ChannelFanout] = {}

    async def add(self, socket: LocalSocket) -> None:
        """Called when a socket subscribes; it receives every event published after this returns."""
        loop = asyncio.get_running_loop()
        key = (id(loop), socket.channel)
        fanout = self._fanouts.get(key)
        if fanout is None or fanout.loop is not loop:
            fanout = ChannelFanout(socket.channel, loop)
            self._fanouts[key] = fanout
            await fanout.start()
        else:
            await fanout.ready.wait()  # another socket is starting it: wait until it has joined
        fanout.sockets.add(socket)

    async def remove(self, socket: LocalSocket) -> None:
        """Called when a subscribed socket has gone; the last one out stops the channel's tasks."""
        key = (id(asyncio.get_running_loop()), socket.channel)
        fanout = self._fanouts.get(key)
        if fanout is None:
            return
        fanout.sockets.discard(socket)
        if not fanout.sockets:
            del self._fanouts[key]
            await fanout.stop()


process_fanout = ProcessFanout()
