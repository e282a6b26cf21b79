"""
The subscriptions one socket holds, each a member of its channel's hub: it starts from
the position the hub gives as it joins (every later event is offered to it, never lost
in a gap), and leaves once, whatever ends it.
"""

from collections.abc import Callable
from typing import TYPE_CHECKING

from broadcasting.delivery.fanout import process_fanout
from broadcasting.delivery.feed import ChannelFeed
from broadcasting.delivery.outbox import Outbox
from broadcasting.delivery.subscription import Subscription
from broadcasting.log.sequence import channel_position
from broadcasting.runtime.db_thread import database_call
from broadcasting.sockets.presence_watch import PresenceWatch
from broadcasting.wire.events import LiveEvent, PresenceChange

if TYPE_CHECKING:
    from broadcasting.sockets.consumer import LiveSocketConsumer


class ChannelMember:
    """One subscription of a socket, as the hub of its channel sees it."""

    __slots__ = ("channel", "feed", "socket", "user_pk")

    def __init__(self, socket: "LiveSocketConsumer", subscription: Subscription, outbox: Outbox) -> None:
        self.socket = socket
        self.channel = subscription.channel
        self.user_pk = socket.user_pk
        self.feed = ChannelFeed(subscription, outbox)

    def offer(self, event: LiveEvent, now: float) -> None:
        self.feed.offer(event, now)

    def offer_presence(self, change: PresenceChange) -> None:
        self.socket.members.offer_presence(change, self.socket.presence_audiences, self.socket.outbox)

    def check_in(self, committed_seq: int, now: float) -> None:
        """Called every check interval with the channel's committed seq; a stuck socket closes 4408."""
        if self.socket.outbox.still_sending(now):
            self.feed.check_in(committed_seq, now)


class Memberships:
    """A socket's members by channel, and the channels it watches presence on (from its first get_presence)."""

    __slots__ = ("_presence_watch", "by_channel")

    def __init__(self) -> None:
        self.by_channel: dict[str, ChannelMember] = {}
        self._presence_watch: PresenceWatch | None = None

    @property
    def presence_watch(self) -> PresenceWatch:
        if self._presence_watch is None:
            self._presence_watch = PresenceWatch()
        return self._presence_watch

    def offer_presence(self, change: PresenceChange, audiences: Callable[[], tuple[str, ...]], outbox: Outbox) -> None:
        """A join or leave, for a socket that asked get_presence on its channel (none asked: nothing to do)."""
        if self._presence_watch is not None:
            self._presence_watch.offer(change, audiences, outbox)

    def __contains__(self, channel: object) -> bool:
        return channel in self.by_channel

    def __iter__(self):
        return iter(tuple(self.by_channel.values()))

    async def join(self, member: ChannelMember) -> tuple[int, str] | None:
        """
        Join the member's hub and return the channel's position to start from; None
        (and not joined) when it was left or the socket closed meanwhile.
        """
        self.by_channel[member.channel] = member
        position = await process_fanout.add(member)
        if position is None:  # the hub could not read it: read it now, after joining
            position = await database_call(channel_position)(member.channel)
        if not self.holds(member) or not member.socket.outbox.open:
            process_fanout.remove(member)
            return None
        return position

    def holds(self, member: ChannelMember) -> bool:
        return self.by_channel.get(member.channel) is member

    def leave(self, channel: str) -> bool:
        """Leave ``channel``'s hub and stop its feed; False when not subscribed to it."""
        member = self.by_channel.pop(channel, None)
        if member is None:
            return False
        process_fanout.remove(member)
        member.feed.stop()
        if self._presence_watch is not None:
            self._presence_watch.forget(channel)
        return True

    def leave_all(self) -> None:
        for channel in tuple(self.by_channel):
            self.leave(channel)
