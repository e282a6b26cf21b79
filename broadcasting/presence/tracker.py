"""
Presence: who is on a channel, in every server process. (How many sockets there are
is another question, answered by presence/counts.py.)

A signed-in user is *present* on a channel while they have at least one socket on it
anywhere: a /ws/<channel> socket, a filtered or one-object one, or a /ws/ subscription.
Each process tracks its own sockets by user here, and tells the store
(presence/store.py: Redis across processes, else memory) when it starts or stops
holding a user. The store answers whether that made the user present or gone
anywhere, and the process that learns it announces it to the channel:

- ``join`` with the user as the users REST serializer shows them to each reader (a
  non-staff reader sees no email), when their first socket opens;
- ``leave`` with their id, when their last one has been closed for
  REALTIME["PRESENCE_LINGER_SECS"]: a reload, a dropped connection or a deploy's
  reconnect storm comes back within that and sends neither;
- neither has a seq or a place in the history: presence is now, not a log.

``get_presence`` answers with the users present and a count of anonymous sockets. A
process that dies without a word drops out after REALTIME["PRESENCE_TTL_SECS"]: every
process refreshes what it holds every REALTIME["PRESENCE_REFRESH_SECS"] and sweeps
out members nobody refreshed, announcing their leaves.

All store traffic of a process goes through one task, in order, so a hold, a release
and a ``get_presence`` of the same socket are never reordered, and no socket or event
waits on the store: delivery does not go through here at all. A Redis outage (down
or frozen) opens a circuit: holds and releases are skipped, ``get_presence`` answers
from this process alone within STATE_WAIT_SECS, and once Redis answers again the next
refresh holds every user again and settles what a lost answer may have left unsaid
(a join may then come twice, never not at all; likewise a leave).
"""

import asyncio
import logging
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

from broadcasting import metrics
from broadcasting.conf import realtime_setting
from broadcasting.layer import transport
from broadcasting.presence.counts import SHARED_WRITE_DELAY_SECS
from broadcasting.presence.frames import join_change, leave_change, presence_frame
from broadcasting.presence.store import (
    KEEP_ANONYMOUS_COUNT,
    ChannelPresenceState,
    InMemoryPresenceStore,
    store_from_settings,
    user_order,
)
from broadcasting.runtime.circuit import Circuit
from broadcasting.runtime.db_thread import database_call
from broadcasting.runtime.per_loop import PerLoop, raise_if_cancelled
from broadcasting.wire.events import PresenceChange

logger = logging.getLogger(__name__)

# Longest a get_presence waits for the store before it answers from this process alone.
STATE_WAIT_SECS = 3.0


def enabled() -> bool:
    return bool(realtime_setting("PRESENCE"))


# --- One process's sockets, by user -----------------------------------------------------


@dataclass(frozen=True)
class _Operation:
    kind: str  # "hold", "release", "anonymous", "refresh" or "state"
    channel: str = ""
    user: str = ""
    answer: "asyncio.Future[ChannelPresenceState] | None" = None


class LoopPresence:
    """The presence of one event loop's sockets (a server process has one loop)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.process = uuid.uuid4().hex  # this holder's name in the store
        self.store = store_from_settings()
        self.sockets_by_user: dict[str, Counter[str]] = {}  # channel -> user -> sockets here
        self.anonymous: Counter[str] = Counter()  # channel -> anonymous sockets here
        self.lingering: dict[tuple[str, str], asyncio.TimerHandle] = {}  # (channel, user) -> its release
        self.anonymous_pending: dict[str, asyncio.TimerHandle] = {}  # channel -> its count's coming write
        self.operations: asyncio.Queue[_Operation] = asyncio.Queue()
        # After a store failure (Redis down or frozen), skip it for a while: the next
        # refresh after it returns repairs every hold, release and count skipped.
        self.circuit = Circuit("Presence in Redis")
        # Holds and releases whose outcome is unknown, settled by the next refresh.
        self.unsettled: dict[tuple[str, str], str] = {}
        self.tasks = [loop.create_task(self._work())]
        if not isinstance(self.store, InMemoryPresenceStore):
            self.tasks.append(loop.create_task(self._refresh_forever()))

    # Called by sockets (never wait) ------------------------------------------------------

    def arrived(self, channel: str, user: str | None) -> None:
        if user is None:
            self.anonymous[channel] += 1
            self._anonymous_changed(channel)
            return
        users = self.sockets_by_user.setdefault(channel, Counter())
        users[user] += 1
        if users[user] > 1:
            return
        metrics.presence_users.labels(channel).inc()
        release = self.lingering.pop((channel, user), None)
        if release is not None:
            release.cancel()  # back within the linger: still held, no join
        else:
            self.operations.put_nowait(_Operation("hold", channel, user))

    def departed(self, channel: str, user: str | None) -> None:
        if user is None:
            if self.anonymous[channel] > 0:
                self.anonymous[channel] -= 1
                self._anonymous_changed(channel)
            return
        users = self.sockets_by_user.get(channel)
        if users is None or users[user] <= 0:
            return
        users[user] -= 1
        if users[user] == 0:
            metrics.presence_users.labels(channel).dec()
            del users[user]
            if not users:
                del self.sockets_by_user[channel]
            self.lingering[(channel, user)] = self.loop.call_later(
                realtime_setting("PRESENCE_LINGER_SECS"), self._linger_over, channel, user
            )

    async def state(self, channel: str) -> ChannelPresenceState:
        """Who is on ``channel`` now, after what this process has told the store so far."""
        answer: asyncio.Future[ChannelPresenceState] = self.loop.create_future()
        self._write_anonymous(channel)  # a count still waiting to be written goes first
        self.operations.put_nowait(_Operation("state", channel, answer=answer))
        try:
            return await asyncio.wait_for(asyncio.shield(answer), STATE_WAIT_SECS)
        except TimeoutError:  # the store hangs (a frozen Redis): answer without it
            return self._local_state(channel)

    # In order, in the one task -----------------------------------------------------------

    def _linger_over(self, channel: str, user: str) -> None:
        self.lingering.pop((channel, user), None)
        if not self._sockets_of(channel, user):
            self.operations.put_nowait(_Operation("release", channel, user))

    def _anonymous_changed(self, channel: str) -> None:
        """Write the channel's anonymous count soon: the changes of SHARED_WRITE_DELAY_SECS make one write."""
        if channel not in self.anonymous_pending:
            self.anonymous_pending[channel] = self.loop.call_later(
                SHARED_WRITE_DELAY_SECS, self._write_anonymous, channel
            )

    def _write_anonymous(self, channel: str) -> None:
        handle = self.anonymous_pending.pop(channel, None)
        if handle is not None:
            handle.cancel()
            self.operations.put_nowait(_Operation("anonymous", channel))

    async def _work(self) -> None:
        while True:
            raise_if_cancelled()
            operation = await self.operations.get()
            done = False
            try:
                # A reader's question is worth trying even while the circuit is open
                # (the reader waits STATE_WAIT_SECS at most); its success closes it.
                if self.circuit.closed() or operation.kind == "state":
                    await getattr(self, f"_do_{operation.kind}")(operation)
                    done = True
                    self.circuit.succeeded()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                self.circuit.failed(error)
            finally:
                if not done and operation.kind in ("hold", "release"):
                    # Skipped, or failed: maybe before the store ran it, maybe after
                    # (a timed-out script still runs once Redis thaws, its answer lost).
                    self.unsettled[(operation.channel, operation.user)] = operation.kind
                if operation.answer is not None and not operation.answer.done():
                    # The store could not answer: what this process alone knows.
                    operation.answer.set_result(self._local_state(operation.channel))

    async def _do_hold(self, operation: _Operation) -> None:
        joined = await self.store.hold(self.process, operation.channel, [operation.user], KEEP_ANONYMOUS_COUNT)
        await self._announce_joins(operation.channel, joined)

    async def _do_release(self, operation: _Operation) -> None:
        if self._sockets_of(operation.channel, operation.user):
            return  # came back after the linger, before this ran: still held
        if await self.store.release(self.process, operation.channel, operation.user):
            await self._announce(leave_change(operation.channel, operation.user))

    async def _do_anonymous(self, operation: _Operation) -> None:
        await self.store.hold(self.process, operation.channel, [], self.anonymous[operation.channel])

    async def _do_state(self, operation: _Operation) -> None:
        await self._sweep(operation.channel)
        state = await self.store.state(operation.channel)
        if operation.answer is not None and not operation.answer.done():
            operation.answer.set_result(state)

    async def _do_refresh(self, operation: _Operation) -> None:
        """Refresh every member this process holds, and sweep out those of processes gone silent."""
        channels = set(self.sockets_by_user) | set(self.anonymous) | {channel for channel, _ in self.lingering}
        announced: set[tuple[str, str]] = set()
        for channel in sorted(channels):
            held = self._held_users(channel)
            joined = await self.store.hold(self.process, channel, held, self.anonymous[channel])
            await self._announce_joins(channel, joined)
            announced.update((channel, user) for user in joined)
            await self._sweep(channel)
            if not held and not self.anonymous[channel]:
                self.sockets_by_user.pop(channel, None)
                self.anonymous.pop(channel, None)
        await self._settle(announced)

    async def _settle(self, announced: set[tuple[str, str]]) -> None:
        """
        Announce what a failed hold or release may have left unsaid, now that the store
        answers: a join may then come twice, but is never lost; likewise a leave.
        """
        for (channel, user), kind in list(self.unsettled.items()):
            held_here = bool(self._sockets_of(channel, user)) or (channel, user) in self.lingering
            if kind == "hold" and held_here and (channel, user) not in announced:
                await self._announce_joins(channel, [user])
            elif kind == "release" and not held_here:
                left = await self.store.release(self.process, channel, user)
                if left or not await self.store.is_present(channel, user):
                    await self._announce(leave_change(channel, user))
            del self.unsettled[(channel, user)]

    async def _sweep(self, channel: str) -> None:
        for user in await self.store.sweep(channel):
            await self._announce(leave_change(channel, user))

    async def _announce_joins(self, channel: str, users: list[str]) -> None:
        for user in users:
            change = await database_call(join_change)(channel, user)
            if change is not None:
                await self._announce(change)

    async def _announce(self, change: PresenceChange) -> None:
        await asyncio.wait_for(transport.send_presence_change(change), realtime_setting("PUBLISH_TIMEOUT_SECS"))
        metrics.presence_changes.labels(change.channel, change.kind).inc()

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(realtime_setting("PRESENCE_REFRESH_SECS"))
            self.operations.put_nowait(_Operation("refresh"))

    def _sockets_of(self, channel: str, user: str) -> int:
        users = self.sockets_by_user.get(channel)
        return users[user] if users is not None else 0

    def _held_users(self, channel: str) -> list[str]:
        """The users this process holds on ``channel``: with a socket here, or lingering after their last."""
        return [*self.sockets_by_user.get(channel, {}), *(user for ch, user in self.lingering if ch == channel)]

    def _local_state(self, channel: str) -> ChannelPresenceState:
        """What this process alone knows: the answer while the store cannot be reached."""
        return ChannelPresenceState(sorted(self._held_users(channel), key=user_order), self.anonymous[channel])


class ProcessPresence:
    """The presence of this process's sockets; one LoopPresence per event loop."""

    def __init__(self) -> None:
        self._loops: PerLoop[LoopPresence] = PerLoop(LoopPresence)

    def _here(self) -> LoopPresence:
        return self._loops.get()

    def joined(self, socket: Any) -> None:
        """Called by the hub when a socket's subscription joins its channel; never waits."""
        self.arrived(socket.channel, socket.user_pk)

    def left(self, socket: Any) -> None:
        """Called by the hub once when that subscription leaves, whatever ended it."""
        self.departed(socket.channel, socket.user_pk)

    def arrived(self, channel: str, user_pk: Any) -> None:
        if enabled():
            self._here().arrived(channel, None if user_pk is None else str(user_pk))

    def departed(self, channel: str, user_pk: Any) -> None:
        if enabled():
            self._here().departed(channel, None if user_pk is None else str(user_pk))

    async def frame_for(self, channel: str, audience_key: str) -> dict:
        """The ``presence`` frame of ``channel`` for a reader of ``audience_key`` (get_presence)."""
        state = await self._here().state(channel)
        return await database_call(presence_frame)(channel, state, audience_key)


presence = ProcessPresence()
