"""
The one place that talks to the channel layer: events go out to a channel's group
here, and come back in here.

Sending: ``send_event_rollback_unsafe`` hands a LiveEvent to the layer at once. One
should always announce changes with publisher.py's on-commit functions; this send is
for the commit queue alone, which calls it after the transaction has committed. A
failing layer (Redis down, frozen or full) never fails the write: the send is bounded
by REALTIME["PUBLISH_TIMEOUT_SECS"], errors are logged and counted, and sockets get
the event from the history instead (fanout.py's periodic check).

Receiving: a ``ChannelSubscription`` is one process's membership of a channel's group
(fanout.py keeps one per channel per process, however many sockets it serves).
"""

import asyncio
import logging

from asgiref.sync import async_to_sync
from channels.layers import BaseChannelLayer, get_channel_layer

from . import metrics
from .conf import realtime_setting
from .events import LiveEvent

logger = logging.getLogger(__name__)

# The type of every live event message on the layer.
LIVE_EVENT_MESSAGE_TYPE = "live.event"


def group_name(channel: str) -> str:
    """The Channels group whose members are the processes with sockets on ``channel``."""
    return f"live.{channel}"


def send_event_rollback_unsafe(event: LiveEvent) -> bool:
    """
    Send ``event`` to its channel's group now; return whether the layer took it.
    Unsafe: called inside a transaction that later rolls back, the event is out
    anyway. Use the publisher's broadcast_* functions, which call this after commit.
    """
    try:
        async_to_sync(_group_send)(event)
    except Exception:
        logger.exception(
            "Could not publish seq %s on channel %r; sockets get it from the history.", event.seq, event.channel
        )
        metrics.publish_failures.labels(event.channel).inc()
        return False
    metrics.events_published.labels(event.channel).inc()
    return True


async def _group_send(event: LiveEvent) -> None:
    layer = get_channel_layer()
    await asyncio.wait_for(
        layer.group_send(group_name(event.channel), event.to_message(LIVE_EVENT_MESSAGE_TYPE)),
        timeout=realtime_setting("PUBLISH_TIMEOUT_SECS"),
    )


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

    async def receive(self) -> LiveEvent | None:
        """The next message of the group as an event; None for a message that is not one."""
        message = await self.layer.receive(self.member_name)
        if message.get("type") != LIVE_EVENT_MESSAGE_TYPE:
            logger.warning("Ignoring a %r message on channel %r.", message.get("type"), self.channel)
            return None
        return LiveEvent.from_message(message)

    async def leave(self) -> None:
        if self.member_name is None:
            return
        try:
            await self.layer.group_discard(group_name(self.channel), self.member_name)
        except Exception as error:
            logger.warning("Could not leave the group of %r: %s", self.channel, error)
