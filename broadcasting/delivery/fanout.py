"""
ProcessFanout: the sockets of this process, by channel, and what feeds them.

**One layer subscription per process, not per socket.** For each channel with sockets
here, the process joins the channel's group once (transport.ChannelSubscription), and
a relay task offers each event it receives to every local socket (through a bounded
backlog, so the layer is read as fast as it delivers). A write thus costs
the layer one message per *process*, and the per-socket work is a seq comparison, a
dictionary lookup and handing an encoded frame to the outbox: ``offer`` never awaits, so no socket, however
slow, holds up the relay, the others, or a REST request (see delivery/outbox.py). The relay
survives layer outages: it retries with backoff and rejoins the group (a Redis
restarted empty has forgotten it).

**A check against the database.** Every REALTIME["SEQ_CHECK_INTERVAL_SECS"] one query
reads the channel's committed seq and every local socket checks in with it: a socket still behind since
the previous check fetches what it missed from the history; an idle one gets a
``sync``; one whose send has been stuck too long is closed 4408. This turns the
layer's at-most-once delivery (a reconnect, an outage, a full backlog) into exactly-once, in
order: no socket stays silently deaf longer than about two intervals.

**The one list of local sockets (the hub).** Socket counts (``/ws/stats``) and presence
follow its joins and leaves (``listen``), and a socket leaves it synchronously, whatever
ended it, so a socket that is gone is never counted.
"""

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Protocol

from broadcasting import metrics
from broadcasting.conf import realtime_setting
from broadcasting.layer.transport import ChannelSubscription
from broadcasting.log.sequence import channel_position
from broadcasting.runtime.db_thread import database_call
from broadcasting.runtime.error_text import first_line
from broadcasting.runtime.per_loop import raise_if_cancelled
from broadcasting.runtime.request_priority import busy_requests
from broadcasting.wire.events import LiveEvent, PresenceChange

logger = logging.getLogger(__name__)

LAYER_RETRY_MAX_SECS = 5.0
# Sockets offered an event between two turns of the event loop: a few milliseconds of work.
FANOUT_CHUNK_SOCKETS = 500
# A layer may forget a group's members (channels-redis's default layer does after a
# day; the pub/sub layer resubscribes by itself after a reconnect): rejoin well before.
GROUP_REJOIN_SECS = 3600.0
# Longest a join of a channel's group may take before the check loop retries it.
GROUP_JOIN_TIMEOUT_SECS = 2.0


class LocalSocket(Protocol):
    """One subscription of a socket to a channel: what the hub offers events to."""

    channel: str
    user_pk: object

    def offer(self, event: LiveEvent, now: float) -> None: ...

    def offer_presence(self, change: PresenceChange) -> None: ...

    def check_in(self, committed_seq: int, now: float) -> None: ...


@dataclass
class ChannelFanout:
    """The local sockets of one channel in one event loop, and the tasks serving them."""

    channel: str
    loop: asyncio.AbstractEventLoop
    sockets: set = field(default_factory=set)
    subscription: ChannelSubscription = field(init=False)
    joined_at: float | None = None
    tasks: list[asyncio.Task] = field(default_factory=list)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    # Messages received from the layer and not yet offered to the sockets (_relay).
    backlog: asyncio.Queue[LiveEvent | PresenceChange] = field(init=False)
    # (seq, epoch): the channel's position as this hub knows it, at most the committed
    # seq (see ``position_for_join``); None until read from the database.
    position: tuple[int, str] | None = None

    def __post_init__(self) -> None:
        self.subscription = ChannelSubscription(self.channel)
        self.backlog = asyncio.Queue(maxsize=realtime_setting("RELAY_BACKLOG_MESSAGES"))

    async def start(self) -> None:
        await self._join()
        await self._read_position()  # after the join: an event committed since is relayed
        self.tasks = [
            self.loop.create_task(self._receive_forever()),
            self.loop.create_task(self._relay()),
            self.loop.create_task(self._check_forever()),
        ]
        self.ready.set()

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await self.subscription.leave()

    async def _join(self) -> bool:
        try:
            # A frozen Redis would hold the channel's first socket here: give up soon.
            await asyncio.wait_for(self.subscription.join(), GROUP_JOIN_TIMEOUT_SECS)
        except Exception as error:
            # The check loop keeps sockets fed from the history meanwhile, and rejoins.
            logger.warning("Could not join the group of %r: %s", self.channel, error)
            self.joined_at = None
            return False
        self.joined_at = self.loop.time()
        return True

    async def _read_position(self) -> bool:
        try:
            seq, epoch = await database_call(channel_position)(self.channel)
        except Exception as error:
            logger.warning("Could not read the seq of channel %r: %s", self.channel, first_line(error))
            return False
        if self.position is None or self.position[1] != epoch:
            self.position = (seq, epoch)  # a new epoch (the history was reset) starts over
        else:
            self.position = (max(seq, self.position[0]), epoch)
        return True

    def position_for_join(self) -> tuple[int, str] | None:
        """
        The position a socket joining now starts from: every event above it is still to
        be offered to it (relayed later, or repaired by the check), every event at or
        below it was committed. The hub's own view, kept by each dispatch and each
        check, so a handshake reads no database; None before the first read.
        """
        return self.position

    async def _receive_forever(self) -> None:
        """
        Take each message from the layer as it comes into the backlog, which the relay
        empties. The backlog holds at most REALTIME["RELAY_BACKLOG_MESSAGES"]: past
        that (writes outpacing the fan-out for long) a message is dropped and counted,
        and each socket fills the event from the history when it sees the next seq, or
        at the check. The pub/sub layer keeps no limit of its own.
        """
        delay_secs = 0.1
        while True:
            try:
                message = await self.subscription.receive()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                logger.warning("Layer receive for %r failed (%s); retrying in %.1fs.", self.channel, error, delay_secs)
                self.joined_at = None
                await asyncio.sleep(delay_secs)
                delay_secs = min(delay_secs * 2, LAYER_RETRY_MAX_SECS)
                continue
            delay_secs = 0.1
            if message is None:
                continue
            try:
                self.backlog.put_nowait(message)
            except asyncio.QueueFull:
                metrics.relay_drops.labels(self.channel).inc()

    async def _relay(self) -> None:
        """Offer what the backlog holds to the local sockets, oldest first."""
        while True:
            raise_if_cancelled()
            message = await self.backlog.get()
            if isinstance(message, PresenceChange):
                self.dispatch_presence(message)
            else:
                await self.dispatch(message)

    async def dispatch(self, event: LiveEvent) -> None:
        """
        Offer one event to every local socket, in order; one socket's failure is its own.
        Every FANOUT_CHUNK_SOCKETS sockets it gives the event loop a turn, so a REST
        request or a handshake waits for a chunk of the fan-out, not for all of it; while
        a REST request is being answered, it waits for it, for at most what keeps the
        fan-out its REALTIME["FANOUT_SHARE_DURING_REQUESTS"] of the loop (runtime/request_priority.py). (A
        socket that joins meanwhile reads its position after this event committed, so
        it does not need it.)
        """
        now = chunk_started = self.loop.time()
        if self.position is not None and event.seq > self.position[0]:
            # Before the first chunk: a socket joining during this dispatch is not offered it.
            self.position = (event.seq, self.position[1])
        requests = busy_requests(self.loop)
        share = realtime_setting("FANOUT_SHARE_DURING_REQUESTS")
        pause_per_busy_sec = (1 - share) / share
        # A copy: a socket found too slow leaves the set while we go through it.
        sockets = tuple(self.sockets)
        for start in range(0, len(sockets), FANOUT_CHUNK_SOCKETS):
            if start:
                await requests.yield_to_requests(max_wait_secs=(self.loop.time() - chunk_started) * pause_per_busy_sec)
                chunk_started = self.loop.time()
            for socket in sockets[start : start + FANOUT_CHUNK_SOCKETS]:
                try:
                    socket.offer(event, now)
                except Exception:
                    logger.exception("Offering seq %s to a socket on %r failed.", event.seq, self.channel)

    def dispatch_presence(self, change: PresenceChange) -> None:
        """Hand a join or leave to every local socket (a few bytes each, no seq)."""
        for socket in tuple(self.sockets):
            try:
                socket.offer_presence(change)
            except Exception:
                logger.exception("Offering a presence change to a socket on %r failed.", self.channel)

    async def _check_forever(self) -> None:
        while True:
            raise_if_cancelled()
            await asyncio.sleep(realtime_setting("SEQ_CHECK_INTERVAL_SECS"))
            if self.joined_at is None or self.loop.time() - self.joined_at > GROUP_REJOIN_SECS:
                await self._join()
            sockets = tuple(self.sockets)
            if not await self._read_position() or self.position is None:
                continue
            committed_seq = self.position[0]
            now = self.loop.time()
            for socket in sockets:
                try:
                    socket.check_in(committed_seq, now)
                except Exception:
                    logger.exception("Check-in of a socket on channel %r failed.", self.channel)


class MembershipListener(Protocol):
    """What follows the hub's membership (socket counts, presence): told of each join and leave, never waits."""

    def joined(self, socket: LocalSocket) -> None: ...

    def left(self, socket: LocalSocket) -> None: ...


class ProcessFanout:
    """The ChannelFanouts of this process, created with the first socket of a channel."""

    def __init__(self) -> None:
        self._fanouts: dict[tuple[int, str], ChannelFanout] = {}
        self._stopping: set[asyncio.Task] = set()
        self._listeners: list[MembershipListener] = []

    def listen(self, listener: MembershipListener) -> None:
        """Tell ``listener`` of every later join and leave (apps.py connects socket counts and presence)."""
        if listener not in self._listeners:
            self._listeners.append(listener)

    def _tell(self, event: str, socket: LocalSocket) -> None:
        for listener in self._listeners:
            try:
                getattr(listener, event)(socket)
            except Exception:
                logger.exception("A listener of the hub failed on a %s of %r.", event, socket.channel)

    async def add(self, socket: LocalSocket) -> tuple[int, str] | None:
        """
        Called when a socket subscribes; it is offered every event above the position
        this returns (the hub's, ChannelFanout.position_for_join; None: read the database).
        """
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
        metrics.sockets_open.labels(socket.channel).inc()
        self._tell("joined", socket)
        return fanout.position_for_join()

    def remove(self, socket: LocalSocket) -> None:
        """
        Called when a subscribed socket is closing or gone, whatever closed it; safe to
        call more than once. The last socket out of a channel stops its tasks.
        """
        key = (id(asyncio.get_running_loop()), socket.channel)
        fanout = self._fanouts.get(key)
        if fanout is None or socket not in fanout.sockets:
            return
        fanout.sockets.discard(socket)
        metrics.sockets_open.labels(socket.channel).dec()
        self._tell("left", socket)
        if not fanout.sockets and fanout.ready.is_set():
            del self._fanouts[key]
            stopping = fanout.loop.create_task(fanout.stop())
            self._stopping.add(stopping)
            stopping.add_done_callback(self._stopping.discard)

    def socket_counts(self) -> Counter[str]:
        """Sockets per channel in this process."""
        counts: Counter[str] = Counter()
        for fanout in self._fanouts.values():
            if fanout.sockets:
                counts[fanout.channel] += len(fanout.sockets)
        return counts

    def sockets(self) -> list[LocalSocket]:
        """Every socket of this process (of the running event loop's fanouts)."""
        loop_id = id(asyncio.get_running_loop())
        return [
            socket
            for (key_loop, _), fanout in self._fanouts.items()
            if key_loop == loop_id
            for socket in fanout.sockets
        ]


process_fanout = ProcessFanout()
