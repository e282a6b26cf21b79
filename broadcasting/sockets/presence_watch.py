"""
The channels a socket asked ``get_presence`` on: it gets their joins and leaves from
then on, and those that come while the answer is on the way follow the answer, so each
applies to the state the answer gives.
"""

from collections.abc import Callable

from broadcasting.delivery.outbox import Outbox
from broadcasting.presence.tracker import presence
from broadcasting.wire import frames
from broadcasting.wire.events import PresenceChange


class PresenceWatch:
    __slots__ = ("held",)

    def __init__(self) -> None:
        # Channel -> the frames held while its answer is on the way (None: none on the way).
        self.held: dict[str, list[str] | None] = {}

    def offer(self, change: PresenceChange, audiences: Callable[[], tuple[str, ...]], outbox: Outbox) -> None:
        """Called with each join and leave on a channel the socket is on; ``audiences`` only if it watches it."""
        if change.channel not in self.held or not outbox.open:
            return
        rendering = change.rendering_for(audiences())
        if rendering is None:
            return
        held = self.held[change.channel]
        if held is not None:
            held.append(rendering)
        else:
            outbox.push(rendering)

    async def answer(self, channel: str, audiences: tuple[str, ...], outbox: Outbox) -> None:
        """Send the ``presence`` frame of ``channel``, its users shown as REST shows them to this reader."""
        held = self.held.get(channel)
        if held is None:
            held = self.held[channel] = []
        frame = await presence.frame_for(channel, audiences[0])
        if self.held.get(channel) is not held or not outbox.open:
            return  # unsubscribed or closed meanwhile
        outbox.push(frames.encode(frame))
        for rendering in held:
            outbox.push(rendering)
        self.held[channel] = None

    def forget(self, channel: str) -> None:
        """The socket left ``channel``: no more of its joins and leaves."""
        self.held.pop(channel, None)
