"""
The one place that talks to the channel layer: events go out to a channel's group
here, and come back in here.

Sending: ``send_event_rollback_unsafe`` hands a LiveEvent to the layer. One should
always announce changes with publish/publisher.py's on-commit functions; this send is for the
commit queue alone, which calls it after the transaction has committed. It never
makes the writer wait on the layer: Channels' in-memory layer (one process, no I/O)
takes the event at once; any other layer (Redis) gets it from the process's
EventSender thread (layer/sender.py), which sends in rounds, gives a failing layer a rest
and counts what it could not send. Sockets get any event the layer missed from the
history instead (delivery/fanout.py's periodic check).

Receiving: a ``ChannelSubscription`` is one process's membership of a channel's group
(delivery/fanout.py keeps one per channel per process, however many sockets it serves).
"""

import asyncio
import atexit
import logging
import uuid
from dataclasses import dataclass, field

from asgiref.sync import async_to_sync
from channels.layers import BaseChannelLayer, InMemoryChannelLayer, get_channel_layer

from broadcasting import metrics
from broadcasting.layer.groups import LIVE_EVENT_MESSAGE_TYPE, PRESENCE_MESSAGE_TYPE, group_name, send_round
from broadcasting.layer.sender import EventSender
from broadcasting.runtime.per_loop import PerLoop
from broadcasting.wire.events import LiveEvent, PresenceChange

logger = logging.getLogger(__name__)


def send_event_rollback_unsafe(event: LiveEvent) -> None:
    """
    Hand ``event`` to its channel's group now, without waiting on the layer. Unsafe:
    called inside a transaction that later rolls back, the event is out anyway. Use
    the publisher's broadcast_* functions, which call this after commit.
    """
    if isinstance(get_channel_layer(), InMemoryChannelLayer):
        _send_in_memory(event)
    else:
        event_sender.submit(event)


def _send_in_memory(event: LiveEvent) -> None:
    if not get_channel_layer().groups.get(group_name(event.channel)):
        # Nobody in this process listens (a shell, a script, a process with no socket
        # on the channel): the in-memory layer reaches no other process anyway.
        metrics.events_published.labels(event.channel).inc()
        return
    try:
        async_to_sync(send_round)([event])
    except Exception:
        logger.exception(
            "Could not publish seq %s on channel %r; sockets get it from the history.", event.seq, event.channel
        )
        metrics.publish_failures.labels(event.channel).inc()
        return
    metrics.events_published.labels(event.channel).inc()


event_sender = EventSender()
atexit.register(event_sender.drain_at_exit)


def warm_up_sender() -> None:
    """Called as a server process starts: a layer that does I/O gets its sender thread and connections now."""
    if not isinstance(get_channel_layer(), InMemoryChannelLayer):
        event_sender.warm_up()


async def send_presence_change(change: PresenceChange) -> None:
    """
    Hand a join or leave to every process with sockets on its channel (presence/tracker.py).
    Presence is now, not a log: no history stands behind it, and the next
    ``get_presence`` is the truth if the layer loses one.
    """
    await get_channel_layer().group_send(group_name(change.channel), change.to_message(PRESENCE_MESSAGE_TYPE))


@dataclass
class _Probe:
    """A loop's channel for layer_round_trip, kept: on the pub/sub layer each new channel is a subscription."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    layer: BaseChannelLayer | None = None
    channel_name: str | None = None


_probes: PerLoop[_Probe] = PerLoop(lambda loop: _Probe())


async def layer_round_trip(timeout_secs: float) -> None:
    """
    Send a message to this loop's probe channel and receive it back; raise if that
    fails. /readyz is public: probes take turns on one channel per loop, so however
    often it is asked, a process holds one probe subscription.
    """
    layer = get_channel_layer()
    probe = _probes.get()
    token = uuid.uuid4().hex
    async with asyncio.timeout(timeout_secs), probe.lock:
        if probe.channel_name is None or probe.layer is not layer:
            probe.layer, probe.channel_name = layer, await layer.new_channel()
        await layer.send(probe.channel_name, {"type": "health.check", "token": token})
        try:
            while (await layer.receive(probe.channel_name)).get("token") != token:
                pass  # the answer to an earlier probe that gave up waiting
        except BaseException:
            # A receive cut short drops its channel on the pub/sub layer: the next probe makes another.
            probe.channel_name = None
            raise


class ChannelSubscription:
    """One member of a channel's group on the layer: join, receive events, leave."""

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.layer: BaseChannelLayer = get_channel_layer()
        self.member_name: str | None = None

    async def join(self) -> None:
        """Join (or rejoin: a Redis restarted empty has forgotten us) the channel's group."""
        if self.member_name is None:
            self.member_name = await self.layer.new_channel()
        await self.layer.group_add(group_name(self.channel), self.member_name)

    async def receive(self) -> LiveEvent | PresenceChange | None:
        """The group's next message: an event, a presence change, or None for anything else."""
        message = await self.layer.receive(self.member_name)
        message_type = message.get("type")
        if message_type == LIVE_EVENT_MESSAGE_TYPE:
            return LiveEvent.from_message(message)
        if message_type == PRESENCE_MESSAGE_TYPE:
            return PresenceChange.from_message(message)
        logger.warning("Ignoring a %r message on channel %r.", message_type, self.channel)
        return None

    async def leave(self) -> None:
        if self.member_name is None:
            return
        try:
            await self.layer.group_discard(group_name(self.channel), self.member_name)
        except Exception as error:
            logger.warning("Could not leave the group of %r: %s", self.channel, error)
