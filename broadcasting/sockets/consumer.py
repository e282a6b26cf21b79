"""
The one WebSocket consumer: ``/ws/``, and ``/ws/<channel>[/<pk>]``, which is the same
socket with one subscription made from its URL at the handshake.

A socket's subscriptions each join the process's hub (delivery/fanout.py) as a
ChannelMember with a feed of its own: every committed event of the channel exactly
once and in seq order, resumed with ``since``/``epoch`` (delivery/feed.py). On ``/ws/``
the client adds and drops them with ``subscribe``/``unsubscribe`` frames, and an error
in one is that subscription's (an ``error`` frame naming the channel). On a channel URL
a refused subscription refuses the handshake (an ``error`` frame, then a 44xx close).

The consumer is the socket's lifecycle and nothing more: it checks the handshake,
answers client frames, and closes. Every frame goes out through its outbox
(delivery/outbox.py), which never waits, so nothing upstream waits on this socket.
Whatever ends a consumer (a close, a crash, a cancelled task), it leaves the hub, the
credentials watch and the socket limits.
"""

import time
import uuid
from typing import Any

from broadcasting.conf import realtime_setting
from broadcasting.delivery.outbox import Outbox
from broadcasting.delivery.subscription import Subscription
from broadcasting.live import audience
from broadcasting.presence.counts import socket_counts
from broadcasting.presence.frames import presence_audiences
from broadcasting.presence.tracker import enabled as presence_enabled
from broadcasting.runtime import client_address
from broadcasting.runtime.channels_adapter import OneTaskJsonWebsocketConsumer
from broadcasting.sockets import client_frames, rights, socket_log
from broadcasting.sockets.accounts import AccountsSnapshot, Credentials, credentials_of
from broadcasting.sockets.auth import AUTH_ERROR_SCOPE_KEY
from broadcasting.sockets.credentials_watch import credentials_watch
from broadcasting.sockets.handshake import Refused, client_id_of
from broadcasting.sockets.limits import SocketHolder, socket_limits
from broadcasting.sockets.members import ChannelMember, Memberships
from broadcasting.sockets.ratelimit import TokenBucket
from broadcasting.sockets.subscribe import from_frame, from_query, subscription_for
from broadcasting.wire import frames
from broadcasting.wire.client_ids import own_keys
from broadcasting.wire.protocol import (
    CLOSES_WITH,
    ClientFrame,
    CloseCode,
    ErrorCode,
    MultiplexClientFrame,
    error_frame,
)

# The client frames each kind of socket takes; each is handled by the method client_<type>.
CHANNEL_URL_FRAMES = frozenset(ClientFrame)
MULTIPLEX_FRAMES = frozenset(ClientFrame) | frozenset(MultiplexClientFrame)
MULTIPLEX_LABEL = "/ws/"  # what logs call a /ws/ socket; its channels are its subscriptions'


class LiveSocketConsumer(OneTaskJsonWebsocketConsumer):
    """One socket, with the subscriptions it holds."""

    url_channel: str | None = None  # /ws/<channel>: the channel of its one subscription
    label = MULTIPLEX_LABEL  # what logs call it: its URL's channel, or /ws/
    frame_types = MULTIPLEX_FRAMES  # the client frames it takes
    credentials: Credentials | None = None
    holder: SocketHolder | None = None  # set while the socket counts against the socket limits
    opened_at: float | None = None
    close_code: int | None = None
    client_id = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # one instance per socket (as_asgi)
        self.members = Memberships()

    def ended(self) -> None:
        """Whatever ended the socket: leave everything and stop writing."""
        self.disconnected()
        if "outbox" in self.__dict__:
            self.outbox.discard()

    # --- The handshake ----------------------------------------------------------------

    async def connect(self) -> None:
        """Called on the handshake: check it, accept, then subscribe to the URL's channel or greet."""
        url_route = self.scope["url_route"]["kwargs"]
        self.url_channel = url_route.get("channel")
        self.label = self.url_channel or MULTIPLEX_LABEL
        self.frame_types = CHANNEL_URL_FRAMES if self.url_channel is not None else MULTIPLEX_FRAMES
        query_string = self.scope.get("query_string", b"")
        try:
            self.client_id = client_id_of(query_string) or str(uuid.uuid4())
            if self.scope.get(AUTH_ERROR_SCOPE_KEY):
                raise Refused(ErrorCode.AUTH_FAILED, self.scope[AUTH_ERROR_SCOPE_KEY])
            self.credentials = credentials_of(self.scope)
            self.audiences = audience.audiences_of(self.scope.get("user"))
            self.user_is_staff = bool(self.credentials is not None and self.scope["user"].is_staff)
            subscription = None
            if self.url_channel is not None:
                request = from_query(self.url_channel, url_route.get("pk"), query_string)
                subscription = await subscription_for(request, self.scope.get("user"), self.audiences, self.own_keys())
            self.holder = await socket_limits.hold(client_address.for_scope(self.scope), self.user_pk)
        except Refused as refusal:
            socket_log.refused(self.scope.get("path", ""), refusal.close_code, refusal.code)
            await self.accept()
            await self.send_json(error_frame(refusal.code, refusal.message))
            await self.close(code=refusal.close_code)
            return
        self.client_frames = TokenBucket.for_client_frames()
        await self.accept()
        # The server's own send (no middleware in sockets/routing.py wraps it); on a close
        # decided here, the socket leaves the hub before the closing handshake ends.
        self.outbox = Outbox.for_socket(self.base_send, self.label, on_close=self._outbox_closing)
        if self.credentials is not None:
            credentials_watch.add(self)
        if subscription is not None:
            await self._subscribe(subscription)
        else:
            self.reply(frames.connection_frame(self.client_id))
        self.opened_at = time.monotonic()
        socket_log.opened(self.label, self.user_pk, self.client_id)

    def _outbox_closing(self, code: int) -> None:
        self.members.leave_all()

    @property
    def user_pk(self) -> object:
        return self.credentials.user_pk if self.credentials is not None else None

    def own_keys(self) -> frozenset[str]:
        return own_keys(self.client_id, self.user_pk)

    # --- Subscriptions ----------------------------------------------------------------

    async def _subscribe(self, subscription: Subscription) -> None:
        member = ChannelMember(self, subscription, self.outbox)
        position = await self.members.join(member)
        if position is None:
            return
        channel = subscription.channel
        committed_seq, epoch = position
        if channel == self.url_channel:
            self.reply(frames.connection_frame(self.client_id, channel, committed_seq, epoch))
        else:
            self.reply(frames.subscribed_frame(channel, committed_seq, epoch))
        member.feed.start(committed_seq, epoch)

    def refuse_subscription(self, refused: Refused, channel: object) -> None:
        """An error frame naming the channel the client gave (a string, cut short); the socket stays open."""
        self.reply(frames.channel_error_frame(refused.code, refused.message, channel))

    # --- Client frames ----------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Called with each client frame; malformed ones get an error frame, never a close."""
        outbox = self.__dict__.get("outbox")
        if outbox is None or not outbox.open:
            return  # closing: nothing more is sent on this socket
        data = text_data if text_data is not None else bytes_data
        if client_frames.longer_than(data, realtime_setting("MAX_CLIENT_FRAME_BYTES")):
            outbox.close(CloseCode.MESSAGE_TOO_BIG)  # unparsed: its size alone decides
        elif not self.client_frames.take():
            self.refuse(ErrorCode.RATE_LIMITED, "Too many frames; slow down and reconnect.")
        else:
            content = client_frames.read(text_data, self.frame_types)
            if isinstance(content, client_frames.Unreadable):
                self.send_error(content.code, content.message)
            else:
                await getattr(self, f"client_{content['type']}")(content)

    async def client_ping(self, content: dict) -> None:
        self.reply(frames.pong_frame())

    async def client_get_stats(self, content: dict) -> None:
        self.reply(frames.stats_frame(await socket_counts.stats()))

    async def client_get_presence(self, content: dict) -> None:
        """``get_presence`` of the URL's channel, or on /ws/ of the subscribed ``channel`` it names."""
        channel = self.url_channel or content.get("channel")
        if not isinstance(channel, str) or channel not in self.members:
            message = 'get_presence needs the "channel" of a subscription.'
            self.refuse_subscription(Refused(ErrorCode.BAD_REQUEST, message), channel)
        elif not presence_enabled():
            self.send_error(ErrorCode.BAD_REQUEST, "Presence is off on this server (REALTIME_PRESENCE).")
        else:
            await self.members.presence_watch.answer(channel, self.presence_audiences(), self.outbox)

    async def client_subscribe(self, content: dict) -> None:
        channel = content.get("channel")
        if self.credentials is not None:
            await credentials_watch.recheck_now(self)  # rights as they are now, before any replay
            if not self.outbox.open:
                return
        try:
            if isinstance(channel, str) and channel in self.members:
                raise Refused(ErrorCode.BAD_REQUEST, f"Already subscribed to {channel}; unsubscribe first.")
            subscription = await subscription_for(
                from_frame(content), self.scope.get("user"), self.audiences, self.own_keys()
            )
        except Refused as refused:
            self.refuse_subscription(refused, channel)
            return
        await self._subscribe(subscription)

    async def client_unsubscribe(self, content: dict) -> None:
        channel = content.get("channel")
        if not isinstance(channel, str) or not self.members.leave(channel):
            self.refuse_subscription(Refused(ErrorCode.BAD_REQUEST, "Not subscribed to that channel."), channel)
            return
        self.reply(frames.unsubscribed_frame(channel))

    def presence_audiences(self) -> tuple[str, ...]:
        return presence_audiences(self.audiences, self.credentials is not None)

    # --- Rights, health and closing ---------------------------------------------------

    async def follow_credentials(self, accounts: AccountsSnapshot) -> None:
        """Called by the credentials watch every interval and before a subscribe replays (sockets/rights.py)."""
        await rights.follow(self, accounts)

    async def disconnect(self, code: int) -> None:
        """Called when the socket has closed, whoever closed it."""
        self.close_code = code
        self.disconnected()

    def disconnected(self) -> None:
        """Leave everything the socket joined; safe to call more than once."""
        credentials_watch.remove(self)
        self.members.leave_all()
        if self.holder is not None:
            socket_limits.release(self.holder)
            self.holder = None
        if self.opened_at is not None:
            socket_log.closed(self.label, self.user_pk, self.client_id, self.close_code, self.opened_at)
            self.opened_at = None

    def reply(self, frame: dict) -> None:
        """Queue a frame for this socket, after those already queued."""
        self.outbox.push(frames.encode(frame))

    def send_error(self, code: ErrorCode, message: str) -> None:
        """An ``error`` frame; the socket stays open."""
        self.reply(error_frame(code, message))

    def refuse(self, code: ErrorCode, message: str) -> None:
        """Send an ``error`` frame after what is queued, then close with the code's close."""
        self.outbox.close(CLOSES_WITH[code], error_frame(code, message))
