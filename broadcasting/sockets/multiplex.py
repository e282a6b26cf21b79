"""
/ws/: many channels on one socket.

A page that watches posts, users and one post's comments needs one socket, not three.
The client sends ``subscribe`` frames, each naming a channel with its own filter, seq
and epoch; every frame of a subscription carries its ``channel``. Each subscription is
a ChannelMember of the process fanout with a ChannelFeed of its own (the same
exactly-once, resumable stream a /ws/<channel> socket has) writing into the socket's
one outbox. An error in a subscribe frame (unknown channel, sign-in needed, a bad
filter or since) is that subscription's: an ``error`` frame naming the channel, and the
socket stays open. /ws/<channel> keeps working unchanged.
"""

from dataclasses import dataclass

from channels.db import database_sync_to_async

from broadcasting.delivery.feed import ChannelFeed
from broadcasting.delivery.subscription import Subscription
from broadcasting.live.filters import FilterParams, InvalidFilter, LiveFilter
from broadcasting.live.registry import live_models
from broadcasting.log.sequence import channel_position
from broadcasting.sockets.consumer import ConnectionRefused, LiveChannelConsumer
from broadcasting.sockets.credentials_watch import credentials_watch
from broadcasting.wire import frames
from broadcasting.wire.client_ids import is_valid_client_id
from broadcasting.wire.events import LiveEvent, PresenceChange
from broadcasting.wire.protocol import (
    ClientFrame,
    ErrorCode,
    MultiplexClientFrame,
    MultiplexServerFrame,
    ServerFrame,
    error_frame,
)


@dataclass(eq=False)
class ChannelMember:
    """One subscription of a /ws/ socket, as the process fanout of its channel sees it."""

    socket: "MultiplexConsumer"
    channel: str
    feed: ChannelFeed

    def offer(self, event: LiveEvent, now: float) -> None:
        self.feed.offer(event, now)

    def offer_presence(self, change: PresenceChange) -> None:
        self.socket.offer_presence(change)

    def check_in(self, committed_seq: int, now: float) -> None:
        if self.socket.still_good(now):
            self.feed.check_in(committed_seq)


class MultiplexConsumer(LiveChannelConsumer):
    """The socket at /ws/: subscriptions come and go over its life."""

    client_message_types = frozenset(ClientFrame) | frozenset(MultiplexClientFrame)

    async def connect(self) -> None:
        self.channel = "/ws/"  # a label for logs; the channels are the subscriptions'
        self.members: dict[str, ChannelMember] = {}
        try:
            self._check_client()
            await self._admit()
        except ConnectionRefused as refusal:
            await self._refuse_handshake(refusal)
            return
        await self._accept_with_outbox()
        self.subscribed = True
        self.outbox.push(
            frames.encode(
                {
                    "type": ServerFrame.CONNECTION,
                    "message": "Connected",
                    "client_id": self.client_id,
                    "timestamp": frames.utc_timestamp(),
                }
            )
        )
        self._log_opened()

    def _feeds(self) -> list[ChannelFeed]:
        return [member.feed for member in self.__dict__.get("members", {}).values()]

    def _leave_fanout(self) -> None:
        if not self.subscribed:
            return
        self.subscribed = False
        for member in self.members.values():
            self._leave_channel(member)
        self.members = {}

    def _still_member(self, member: object) -> bool:
        return (
            super()._still_member(member)
            and isinstance(member, ChannelMember)
            and (self.subscribed and self.members.get(member.channel) is member)
        )

    # --- subscribe / unsubscribe ------------------------------------------------------

    async def client_subscribe(self, content: dict) -> None:
        channel = content.get("channel")
        if self.credentials is not None:
            # Credentials and rights as they are now, before anything is replayed.
            await credentials_watch.recheck_now(self)
            if not self.outbox.open:
                return
        try:
            filter_params, live_filter, since, epoch = await self._read_subscription(content)
        except ConnectionRefused as refused:
            self._refuse_subscription(refused, channel)
            return
        assert isinstance(channel, str)
        subscription = Subscription(
            channel, self.audiences, self._own_keys(), live_filter, since, epoch, filter_params=filter_params
        )
        feed = ChannelFeed(subscription, self.outbox)
        member = ChannelMember(self, channel, feed)
        self.members[channel] = member
        # As on /ws/<channel>: join the fanout before reading the position, so nothing
        # committed in between falls in a gap.
        if not await self._join_channel(member):
            return
        committed_seq, channel_epoch = await database_sync_to_async(channel_position)(channel)
        if self.members.get(channel) is not member:
            return  # unsubscribed (or the socket closed) meanwhile
        self.reply(
            {"type": MultiplexServerFrame.SUBSCRIBED, "channel": channel, "seq": committed_seq, "epoch": channel_epoch}
        )
        feed.start(committed_seq, channel_epoch)

    def _refuse_subscription(self, refused: ConnectionRefused, channel: object) -> None:
        """An error frame naming the channel the client gave (a string, cut short); the socket stays open."""
        named = channel[:64] if isinstance(channel, str) else None
        self.reply({**error_frame(refused.code, refused.message), "channel": named})

    async def _read_subscription(self, content: dict) -> tuple[FilterParams, LiveFilter | None, int | None, str | None]:
        """A subscribe frame's filter, since and epoch, checked like a /ws/<channel> handshake."""
        channel = content.get("channel")
        live_model = live_models.for_channel(channel) if isinstance(channel, str) else None
        if live_model is None:
            raise ConnectionRefused(ErrorCode.UNKNOWN_CHANNEL, "No channel of that name.")
        if channel in self.members:
            raise ConnectionRefused(ErrorCode.BAD_REQUEST, f"Already subscribed to {channel}; unsubscribe first.")
        user = self.scope.get("user")
        if live_model.requires_auth and not (user is not None and user.is_authenticated):
            raise ConnectionRefused(ErrorCode.AUTH_REQUIRED, f"Sign in to subscribe to channel: {channel}")
        since = content.get("since")
        if since is not None and not (isinstance(since, int) and not isinstance(since, bool) and since >= 0):
            raise ConnectionRefused(ErrorCode.INVALID_SINCE, "since must be a non-negative integer seq.")
        epoch = content.get("epoch")
        if epoch is not None and not (isinstance(epoch, str) and is_valid_client_id(epoch)):
            raise ConnectionRefused(ErrorCode.INVALID_EPOCH, "epoch must be the epoch of a subscribed frame.")
        wanted = content.get("filter") or {}
        if not isinstance(wanted, dict) or not all(
            isinstance(value, str | int | float | bool) for value in wanted.values()
        ):
            raise ConnectionRefused(
                ErrorCode.INVALID_FILTER, 'filter must be an object of parameters: {"author": "3"}.'
            )
        try:  # FilterParams.of bounds the parameters before anything parses them
            filter_params = FilterParams.of(
                (str(name), str(value).lower() if isinstance(value, bool) else str(value))
                for name, value in wanted.items()
            )
            live_filter = await database_sync_to_async(filter_params.parse)(live_model, user) if filter_params else None
        except InvalidFilter as invalid:
            raise ConnectionRefused(ErrorCode.INVALID_FILTER, str(invalid)) from invalid
        return filter_params, live_filter, since, epoch

    async def client_get_presence(self, content: dict) -> None:
        """``get_presence`` names one of this socket's subscribed channels."""
        channel = content.get("channel")
        if not isinstance(channel, str) or channel not in self.members:
            self._refuse_subscription(
                ConnectionRefused(ErrorCode.BAD_REQUEST, 'get_presence needs the "channel" of a subscription.'),
                channel,
            )
            return
        await self.answer_presence(channel)

    def filter_revoked(self, channel: str) -> None:
        """On /ws/ only that subscription ends: an ``auth_failed`` error frame naming it; the socket stays."""
        member = self.members.pop(channel, None)
        if member is None:
            return
        self._leave_channel(member)
        self.presence_watched.pop(channel, None)
        self._refuse_subscription(
            ConnectionRefused(
                ErrorCode.AUTH_FAILED, "Your rights changed: this subscription's filter is no longer allowed."
            ),
            channel,
        )

    async def client_unsubscribe(self, content: dict) -> None:
        channel = content.get("channel")
        member = self.members.pop(channel, None) if isinstance(channel, str) else None
        if member is None:
            self._refuse_subscription(
                ConnectionRefused(ErrorCode.BAD_REQUEST, "Not subscribed to that channel."), channel
            )
            return
        self._leave_channel(member)
        self.presence_watched.pop(member.channel, None)
        self.reply({"type": MultiplexServerFrame.UNSUBSCRIBED, "channel": channel})
