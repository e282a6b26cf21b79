"""
The WebSocket end of a model channel: /ws/<channel>.

A socket subscribes to one registered channel. On connect it gets the ``connection``
frame (its client_id, the channel's current seq and history epoch); with ``?since=``
it then gets every event it missed, from the history, or ``reset``. After that, every
committed event of the channel exactly once and in seq order (delivery/feed.py says how).

The consumer is the socket's lifecycle and nothing more: it checks the handshake,
answers client frames, and closes. Every frame it sends goes through its outbox
(delivery/outbox.py), which hands it to the server without waiting, so nothing upstream ever
waits on this socket. Clients may send ``ping`` and ``get_stats``; anything else gets an ``error``
frame and the socket stays open. Refusals send an ``error`` frame, then close with a
44xx code. Whatever ends a consumer (a close, a crash, a cancelled task), it leaves
the fanout, the socket counts and the metrics.
"""

import json
import logging
import time
import uuid
from typing import Any
from urllib.parse import parse_qs, parse_qsl

from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from broadcasting.conf import realtime_setting
from broadcasting.delivery.fanout import process_fanout
from broadcasting.delivery.feed import ChannelFeed
from broadcasting.delivery.outbox import Outbox
from broadcasting.delivery.subscription import Subscription
from broadcasting.live import audience
from broadcasting.live.filters import FilterParams, InvalidFilter, LiveFilter
from broadcasting.live.registry import live_models
from broadcasting.log.sequence import channel_position
from broadcasting.presence.counts import socket_counts
from broadcasting.presence.frames import presence_audiences
from broadcasting.presence.tracker import enabled as presence_enabled
from broadcasting.presence.tracker import presence
from broadcasting.runtime import client_address
from broadcasting.runtime.handshake import printable_path
from broadcasting.sockets.accounts import AccountsSnapshot, Credentials, credentials_of, load_user
from broadcasting.sockets.auth import AUTH_ERROR_SCOPE_KEY
from broadcasting.sockets.credentials_watch import credentials_watch
from broadcasting.sockets.limits import SocketHolder, socket_limits
from broadcasting.sockets.ratelimit import TokenBucket
from broadcasting.wire import frames
from broadcasting.wire.client_ids import client_key, is_valid_client_id
from broadcasting.wire.events import LiveEvent, PresenceChange
from broadcasting.wire.protocol import CLOSES_WITH, ClientFrame, CloseCode, ErrorCode, ServerFrame, error_frame

logger = logging.getLogger(__name__)
# One line per socket opened, refused and closed (channel, user id, close code, duration).
socket_log = logging.getLogger("realtime.sockets")


# Query parameters of the protocol itself; every other one is a filter of the channel.
RESERVED_QUERY_PARAMS = ("client_id", "since", "epoch")


class ConnectionRefused(Exception):
    """
    Raised while checking a handshake (an error frame and its 44xx close) or a /ws/
    subscribe frame (an error frame naming the channel; the socket stays open).
    """

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def close_code(self) -> int:
        return int(CLOSES_WITH[self.code])


class NoRouteConsumer(AsyncJsonWebsocketConsumer):
    """Any socket path that is not /ws/<channel>: refused like an unknown channel."""

    channel_layer_alias = None

    async def connect(self) -> None:
        await self.accept()
        await self.send_json(error_frame(ErrorCode.UNKNOWN_CHANNEL, "No channel at this path."))
        await self.close(code=int(CloseCode.UNKNOWN_CHANNEL))


def _longer_than(data: str | bytes | None, max_bytes: int) -> bool:
    """Whether a client frame is over ``max_bytes`` in UTF-8, encoding it only when its length cannot tell."""
    if data is None or len(data) <= max_bytes // 4:
        return False
    if isinstance(data, bytes) or len(data) > max_bytes:
        return len(data) > max_bytes
    return len(data.encode()) > max_bytes


def _query_value(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[-1] if values else None


class LiveChannelConsumer(AsyncJsonWebsocketConsumer):
    """One socket subscribed to one model channel."""

    # Client frame types, each handled by the method named client_<type>.
    client_message_types: frozenset[str] = frozenset(ClientFrame)
    # No channel-layer name per socket: the process fanout subscribes once for all.
    channel_layer_alias = None

    # Set by the handshake check (channel, client_id) and once accepted (outbox, feed);
    # nothing reads them before. _outbox_or_none() is for code that may run earlier.
    channel: str
    client_id: str
    outbox: Outbox
    feed: ChannelFeed
    credentials: Credentials | None = None
    live_filter: LiveFilter | None = None  # a filtered or one-object socket's filter
    filter_params: FilterParams = FilterParams()
    holder: SocketHolder | None = None  # set while the socket counts against the socket limits
    subscribed: bool = False
    # The channels this socket asked get_presence on, and so gets joins and leaves of;
    # each with the frames held while its answer is on the way (None: none on the way).
    presence_watched: dict[str, list[str] | None]
    opened_at: float | None = None
    close_code: int | None = None

    async def __call__(self, scope, receive, send) -> None:
        """
        Run the consumer; whatever ends it, it leaves the fanout and stops writing.

        Channels' AsyncConsumer.__call__ for a consumer with no channel layer of its
        own (the process fanout subscribes once for every socket), less one thing: it
        awaits the server's frames here instead of in a task per socket
        (await_many_dispatch), which an idle socket would hold for its whole life.
        """
        self.scope = scope
        self.channel_layer = None
        self.base_send = send
        try:
            while True:
                await self.dispatch(await receive())
        except StopConsumer:
            pass
        finally:
            credentials_watch.remove(self)
            self._leave_fanout()
            self._release_limits()
            self._log_closed()
            if self._outbox_or_none() is not None:
                self.outbox.discard()

    # --- Handshake --------------------------------------------------------------------

    async def connect(self) -> None:
        """Called on the handshake: check it, subscribe, send the connection frame, replay."""
        try:
            self._check_handshake()
            await self._read_filter()
            await self._admit()
        except ConnectionRefused as refusal:
            await self._refuse_handshake(refusal)
            return

        await self._accept_with_outbox()
        subscription = Subscription(
            self.channel,
            self.audiences,
            self._own_keys(),
            self.live_filter,
            self.since_seq,
            self.since_epoch,
            filter_params=self.filter_params,
        )
        self.feed = ChannelFeed(subscription, self.outbox)
        # Subscribe before reading the position: an event committed in between is
        # offered before the feed is placed and counted as heard, never lost in a gap.
        if not await self._join_channel(self):
            return
        self.subscribed = True
        committed_seq, epoch = await database_sync_to_async(channel_position)(self.channel)
        self.outbox.push(
            frames.encode(
                {
                    "type": ServerFrame.CONNECTION,
                    "message": f"Connected to channel: {self.channel}",
                    "channel": self.channel,
                    "client_id": self.client_id,
                    "timestamp": frames.utc_timestamp(),
                    "seq": committed_seq,
                    "epoch": epoch,
                }
            )
        )
        self.feed.start(committed_seq, epoch)
        self._log_opened()

    async def _refuse_handshake(self, refusal: ConnectionRefused) -> None:
        """A refused handshake: log it, accept, send the error frame, close with its code."""
        path = printable_path(self.scope.get("path", ""))
        socket_log.info(
            "socket refused %s code=%s %s",
            path,
            refusal.close_code,
            refusal.code,
            extra={"path": path, "close_code": refusal.close_code, "error_code": refusal.code},
        )
        await self.accept()
        await self.send_json(error_frame(refusal.code, refusal.message))
        await self.close(code=refusal.close_code)

    async def _accept_with_outbox(self) -> None:
        """Accept the socket; from here every frame goes out through its outbox."""
        self.client_frames = TokenBucket(
            realtime_setting("CLIENT_FRAMES_PER_SEC"), realtime_setting("CLIENT_FRAME_BURST")
        )
        self.presence_watched = {}
        await self.accept()
        self.outbox = Outbox(
            self.base_send,  # the server's own: no middleware in sockets/routing.py wraps send
            channel_label=self.channel,
            max_bytes=realtime_setting("OUTBOX_MAX_BYTES"),
            send_timeout_secs=realtime_setting("SEND_TIMEOUT_SECS"),
            on_close=self._on_outbox_close,
        )
        if self.credentials is not None:
            credentials_watch.add(self)

    def _log_opened(self) -> None:
        self.opened_at = time.monotonic()
        socket_log.info(
            "socket open channel=%s user=%s client_id=%s",
            self.channel,
            self._user_id(),
            self.client_id,
            extra={"channel": self.channel, "user_id": self._user_id(), "client_id": self.client_id},
        )

    def _user_id(self) -> object:
        return self.credentials.user_pk if self.credentials is not None else None

    def _log_closed(self) -> None:
        if self.opened_at is None:
            return
        duration_secs = round(time.monotonic() - self.opened_at, 1)
        self.opened_at = None
        socket_log.info(
            "socket closed channel=%s user=%s code=%s after %.1fs",
            self.channel,
            self._user_id(),
            self.close_code,
            duration_secs,
            extra={
                "channel": self.channel,
                "user_id": self._user_id(),
                "close_code": self.close_code,
                "duration_secs": duration_secs,
                "client_id": self.client_id,
            },
        )

    def _check_handshake(self) -> None:
        channel = self.scope["url_route"]["kwargs"]["channel"]
        live_model = live_models.for_channel(channel)
        if live_model is None:
            raise ConnectionRefused(ErrorCode.UNKNOWN_CHANNEL, f"Unknown channel: {channel}")
        self.channel = channel
        self._check_client()
        user = self.scope.get("user")
        if live_model.requires_auth and not (user is not None and user.is_authenticated):
            raise ConnectionRefused(ErrorCode.AUTH_REQUIRED, f"Sign in to subscribe to channel: {channel}")
        self.live_model = live_model

    def _check_client(self) -> None:
        """The handshake's client id, resume point and credentials (any socket path)."""
        query = parse_qs(self.scope.get("query_string", b"").decode("latin1"), keep_blank_values=True)
        client_id = _query_value(query, "client_id")
        if client_id is None:
            client_id = str(uuid.uuid4())
        elif not is_valid_client_id(client_id):
            raise ConnectionRefused(ErrorCode.INVALID_CLIENT_ID, "client_id must be 1-64 characters of [A-Za-z0-9_-].")
        self.client_id = client_id

        since = _query_value(query, "since")
        if since is not None and not (since.isascii() and since.isdigit() and len(since) <= 18):
            raise ConnectionRefused(ErrorCode.INVALID_SINCE, "since must be a non-negative integer seq.")
        self.since_seq = int(since) if since is not None else None
        self.since_epoch = _query_value(query, "epoch")
        if self.since_epoch is not None and not is_valid_client_id(self.since_epoch):
            raise ConnectionRefused(ErrorCode.INVALID_EPOCH, "epoch must be the epoch of a connection frame.")

        if self.scope.get(AUTH_ERROR_SCOPE_KEY):
            raise ConnectionRefused(ErrorCode.AUTH_FAILED, self.scope[AUTH_ERROR_SCOPE_KEY])
        user = self.scope.get("user")
        self.audiences = audience.audiences_of(user)
        self.credentials = credentials_of(self.scope)
        self.user_is_staff = bool(self.credentials is not None and user is not None and user.is_staff)

    async def _read_filter(self) -> None:
        """
        The socket's filter: the channel's REST filter parameters in the query, and the
        one object of /ws/<channel>/<pk>, validated as the REST list validates them
        (a FilterSet may query the database: a ModelChoiceFilter checks its id).
        """
        raw_query = self.scope.get("query_string", b"")
        try:  # as Django's QueryDict reads one: UTF-8, else Latin-1 from a misbehaving client
            query = raw_query.decode()
        except UnicodeDecodeError:
            query = raw_query.decode("latin1")
        object_pk = self.scope["url_route"]["kwargs"].get("pk")
        try:
            pairs = parse_qsl(
                query,
                keep_blank_values=True,
                max_num_fields=realtime_setting("MAX_FILTER_PARAMS") + len(RESERVED_QUERY_PARAMS),
            )
            self.filter_params = FilterParams.of(
                ((name, value) for name, value in pairs if name not in RESERVED_QUERY_PARAMS), object_pk
            )
        except ValueError as too_many:  # parse_qsl past max_num_fields, or InvalidFilter
            message = str(too_many) if isinstance(too_many, InvalidFilter) else "Too many query parameters."
            raise ConnectionRefused(ErrorCode.INVALID_FILTER, message) from too_many
        if not self.filter_params:
            return
        try:
            self.live_filter = await database_sync_to_async(self.filter_params.parse)(
                self.live_model, self.scope.get("user")
            )
        except InvalidFilter as invalid:
            raise ConnectionRefused(ErrorCode.INVALID_FILTER, str(invalid)) from invalid

    def _feeds(self) -> list[ChannelFeed]:
        """The feeds this socket is sent from (one here; one per subscription on /ws/)."""
        return [self.feed] if "feed" in self.__dict__ else []

    def _outbox_or_none(self) -> Outbox | None:
        return self.__dict__.get("outbox")

    def _own_keys(self) -> frozenset[str]:
        """
        The exclude_client values that mark an event as this socket's own write: its
        client id under its user (REST writes, publish/context.py), and the bare client id,
        which only server code can name (publisher's ``exclude_client=``).
        """
        keys = {self.client_id}
        if self.credentials is not None:
            keys.add(client_key(self.credentials.user_pk, self.client_id))
        return frozenset(keys)

    async def _admit(self) -> None:
        holder = SocketHolder(
            client_address.for_scope(self.scope), self.credentials.user_pk if self.credentials else None
        )
        refusal = await socket_limits.admit(holder)
        if refusal is not None:
            raise ConnectionRefused(ErrorCode.TOO_MANY_CONNECTIONS, refusal)
        self.holder = holder

    def _release_limits(self) -> None:
        if self.holder is not None:
            socket_limits.release(self.holder)
            self.holder = None

    # --- Delivery ---------------------------------------------------------------------

    def offer(self, event: LiveEvent, now: float) -> None:
        """Called by the process fanout with each live event (the socket joins it after its feed exists)."""
        self.feed.offer(event, now)

    def offer_presence(self, change: PresenceChange) -> None:
        """
        Called by the process fanout with each join and leave on the channel. A socket
        gets them once it has asked ``get_presence`` there; those that come while its
        answer is on the way follow the answer, so they apply to the state it gives.
        """
        if change.channel not in self.presence_watched or not self.outbox.open:
            return
        rendering = change.rendering_for(self.presence_audiences())
        if rendering is None:
            return
        held = self.presence_watched[change.channel]
        if held is not None:
            held.append(rendering)
        else:
            self.outbox.push(rendering)

    def presence_audiences(self) -> tuple[str, ...]:
        return presence_audiences(self.audiences, self.credentials is not None)

    def check_in(self, committed_seq: int, now: float) -> None:
        """
        Called by the process fanout every check interval with the channel's committed
        seq. A socket whose send has been stuck too long is closed 4408.
        """
        if self.still_good(now):
            self.feed.check_in(committed_seq)

    def still_good(self, now: float) -> bool:
        """False (and the socket closing) when its send is stuck."""
        if not self.outbox.open:
            return False
        if self.outbox.stalled(now):
            self.outbox.close_slow("A send has waited longer than SEND_TIMEOUT_SECS.")
            return False
        return True

    async def follow_credentials(self, accounts: AccountsSnapshot) -> bool:
        """
        Called by the credentials watch with the state of the accounts behind its
        sockets: credentials that ended close the socket 4401; a changed staff flag
        re-renders every subscription for the user's new rights. False once closing.
        """
        if self.credentials is None or not self.outbox.open:
            return self.outbox.open
        refusal = accounts.refusal(self.credentials)
        if refusal is not None:
            self.refuse(ErrorCode.AUTH_FAILED, refusal)
            return False
        is_staff = accounts.is_staff(self.credentials.user_pk)
        if is_staff != self.user_is_staff:
            await self._rights_changed(is_staff)
        return self.outbox.open

    async def _rights_changed(self, is_staff: bool) -> None:
        """The user's staff flag changed: see events as their new self; a filter they may no longer use ends."""
        assert self.credentials is not None
        user = await database_sync_to_async(load_user)(self.credentials.user_pk)
        if user is None:
            self.refuse(ErrorCode.AUTH_FAILED, "This account is no longer active.")
            return
        self.scope["user"] = user
        self.user_is_staff = is_staff
        self.audiences = audience.audiences_of(user)
        for feed in self._feeds():
            subscription = feed.subscription.seen_by(self.audiences)
            feed.subscription = subscription
            if subscription.filter_params and not await self._filter_still_allowed(subscription):
                self.filter_revoked(subscription.channel)

    async def _filter_still_allowed(self, subscription: Subscription) -> bool:
        live_model = live_models.for_channel(subscription.channel)
        try:
            await database_sync_to_async(subscription.filter_params.parse)(live_model, self.scope["user"])
        except InvalidFilter:
            return False
        return True

    def filter_revoked(self, channel: str) -> None:
        """A subscription's filter is no longer the user's to use: on /ws/<channel> the socket ends."""
        self.refuse(ErrorCode.AUTH_FAILED, "Your rights changed: this channel's filter is no longer allowed.")

    # --- Client frames and closing ----------------------------------------------------

    async def disconnect(self, code: int) -> None:
        """Called when the socket has closed, whoever closed it."""
        self.close_code = code
        credentials_watch.remove(self)
        self._leave_fanout()
        self._release_limits()

    def _on_outbox_close(self, code: int) -> None:
        """Called by the outbox the moment it decides to close: leave before the handshake ends."""
        self._leave_fanout()

    def _leave_fanout(self) -> None:
        if not self.subscribed:
            return
        self.subscribed = False
        self._leave_channel(self)

    async def _join_channel(self, member: Any) -> bool:
        """
        Join ``member.channel``'s fanout (this socket, or one /ws/ subscription of it):
        offered every later event, counted, present. False, and not joined, when the
        socket closed (or the subscription ended) while it was joining.
        """
        await process_fanout.add(member)
        if not self._still_member(member):
            process_fanout.remove(member)
            return False
        socket_counts.changed()
        presence.arrived(member.channel, self._user_id())
        return True

    def _leave_channel(self, member: Any) -> None:
        """Leave ``member.channel``'s fanout, counts and presence, and stop its feed. Once per join."""
        process_fanout.remove(member)
        socket_counts.changed()
        presence.departed(member.channel, self._user_id())
        member.feed.stop()

    def _still_member(self, member: object) -> bool:
        return self._outbox_or_none() is not None and self.outbox.open

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Called with each client frame; malformed ones get an error frame, never a close."""
        outbox = self._outbox_or_none()
        if outbox is None or not outbox.open:
            return  # closing: nothing more is sent on this socket
        if _longer_than(text_data if text_data is not None else bytes_data, realtime_setting("MAX_CLIENT_FRAME_BYTES")):
            self.outbox.close(CloseCode.MESSAGE_TOO_BIG)  # unparsed: its size alone decides
            return
        if not self.client_frames.take():
            self.refuse(ErrorCode.RATE_LIMITED, "Too many frames; slow down and reconnect.")
            return
        if text_data is None:
            self.send_error(ErrorCode.BAD_REQUEST, "Binary frames are not supported; send JSON text.")
            return
        try:
            content = json.loads(text_data)
        except (ValueError, RecursionError):
            self.send_error(ErrorCode.BAD_JSON, "Frame is not valid JSON (or nested too deeply).")
            return
        if not isinstance(content, dict) or not isinstance(content.get("type"), str):
            self.send_error(ErrorCode.BAD_REQUEST, 'Frame must be a JSON object with a string "type".')
            return
        message_type = content["type"]
        if message_type not in self.client_message_types:
            self.send_error(ErrorCode.UNKNOWN_TYPE, f"Unknown message type: {message_type[:64]}")
            return
        await getattr(self, f"client_{message_type}")(content)

    async def client_ping(self, content: dict) -> None:
        self.reply({"type": ServerFrame.PONG, "message": "pong"})

    async def client_get_stats(self, content: dict) -> None:
        self.reply({"type": ServerFrame.STATS, "data": await socket_counts.stats()})

    async def client_get_presence(self, content: dict) -> None:
        await self.answer_presence(self.channel)

    async def answer_presence(self, channel: str) -> None:
        """The ``presence`` frame of ``channel``, its users shown as REST shows them to this socket's user."""
        if not presence_enabled():
            self.send_error(ErrorCode.BAD_REQUEST, "Presence is off on this server (REALTIME_PRESENCE).")
            return
        held = self.presence_watched.get(channel)
        if held is None:
            held = self.presence_watched[channel] = []
        frame = await presence.frame_for(channel, self.presence_audiences()[0])
        if self.presence_watched.get(channel) is not held or not self.outbox.open:
            return  # unsubscribed or closed meanwhile
        self.reply(frame)
        for rendering in held:
            self.outbox.push(rendering)
        self.presence_watched[channel] = None

    def reply(self, frame: dict) -> None:
        """Queue a frame for this socket, after those already queued."""
        self.outbox.push(frames.encode(frame))

    def send_error(self, code: ErrorCode, message: str) -> None:
        """An ``error`` frame; the socket stays open."""
        self.reply(error_frame(code, message))

    def refuse(self, code: ErrorCode, message: str) -> None:
        """Send an ``error`` frame after what is queued, then close with the code's close."""
        self.outbox.close(CLOSES_WITH[code], error_frame(code, message))
