"""
The channel layer's groups and messages: one group per channel, whose members are the
processes with sockets on it, and the round of sends that hands committed events to them.
"""

import asyncio
from itertools import groupby

from channels.layers import get_channel_layer

from broadcasting.wire.events import LiveEvent

# The types of the messages on the layer: live events, and presence's joins and leaves.
LIVE_EVENT_MESSAGE_TYPE = "live.event"
PRESENCE_MESSAGE_TYPE = "live.presence"


def group_name(channel: str) -> str:
    """The Channels group whose members are the processes with sockets on ``channel``."""
    return f"live.{channel}"


async def send_round(events: list[LiveEvent]) -> None:
    """Send events in order within each channel, channels side by side."""
    layer = get_channel_layer()

    async def send_channel(channel_events: list[LiveEvent]) -> None:
        for event in channel_events:
            await layer.group_send(group_name(event.channel), event.to_message(LIVE_EVENT_MESSAGE_TYPE))

    by_channel = [list(events) for _, events in groupby(sorted(events, key=lambda e: e.channel), lambda e: e.channel)]
    await asyncio.gather(*(send_channel(channel_events) for channel_events in by_channel))


async def open_connection() -> None:
    """
    Open the sender thread's connection the way a round would: a group_send to a
    group nobody subscribes to (on the pub/sub layer, a PUBLISH that reaches no one).
    """
    await get_channel_layer().group_send(group_name("sender-warm-up"), {"type": "warm.up"})
