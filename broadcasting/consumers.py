"""
The WebSocket end of a model channel: /ws/<channel>.

A socket subscribes to one registered channel. On connect it gets the ``connection``
frame (its client_id, the channel's current seq and history epoch); with ``?since=``
it then gets every event it missed, from the history, or ``reset``. After that, every
committed event of the channel exactly once and in seq order: the frame its user's
REST serializer would show, or a ``sync`` frame for an event it does not get (not
visible to it, or its own write), so its seqs never jump.

The socket owns its position (``last_seq``). Live events reach it through its
process's fanout (fanout.py), which subscribes to the channel layer once for all
local sockets; the layer may drop, delay or reorder, so a socket that sees a gap
fills it from the history first, and the fanout's periodic check catches the events
it never hears of.

Clients may send ``ping`` and ``get_stats``; anything else gets an ``error`` frame and
the socket stays open. Refusals send an ``error`` frame, then close with a 44xx code.
"""

import asyncio
import json
import logging
import uuid
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from . import audience, frames, history, metrics
from .conf import realtime_setting
from .context import is_valid_client_id
from .fanout import process_fanout
from .presence import presence
from .ratelimit import TokenBucket
from .registry import live_models
from .sequence import channel_position
from .socket_auth import AUTH_ERROR_SCOPE_KEY

logger = logging.getLogger(__name__)

CLOSE_BAD_REQUEST = 4400
CLOSE_UNAUTHORIZED = 4401
CLOSE_UNKNOWN_CHANNEL = 4404
CLOSE_RATE_LIMITED = 4429


class ConnectionRefused(Exception):
    """Raised while checking a handshake; becomes an error frame and a 44xx close."""

    def __init__(self, code: str, message: str, close_code: int) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.close_code = close_code


def _query_value(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[-1] if values else None


class LiveChannelConsumer(AsyncJsonWebsocketConsumer):
    """One socket subscribed to one model channel."""

    # Client frame types, each handled by the method named client_<type>.
    client_message_types = frozenset({"ping", "get_stats"})
    # No channel-layer name per socket: the process fanout subscribes once for all.
    channel_layer_alias = None

    channel: str | None = None
    client_id: str | None = None
    subscribed: bool = False
    revoked: bool = False

    # --- Handshake --------------------------------------------------------------------

    async def connect(self) -> None:
        """Called on the handshake: check it, subscribe, send the connection frame, replay."""
        try:
            self._check_handshake()
        except ConnectionRefused as refusal:
            await self.accept()
            await self.send_error(refusal.code, refusal.message)
            await self.close(code=refusal.close_code)
            return

        self.delivery_lock = asyncio.Lock()
        self.behind_at_seq: int | None = None
        self.client_frames = TokenBucket(
            realtime_setting("CLIENT_FRAMES_PER_SEC"), realtime_setting("CLIENT_FRAME_BURST")
        )
        await self.accept()
        async with self.delivery_lock:
            # Subscribe before reading the position: an event committed in between
            # arrives live and is dropped as already counted, rather than falling in a gap.
            await process_fanout.add(self)
            self.subscribed = True
            await presence.joined(self.channel)
            metrics.sockets_open.labels(self.channel).inc()
            committed_seq, self.epoch = await database_sync_to_async(channel_position)(self.channel)
            self.last_seq = committed_seq
            self.last_sent_at = asyncio.get_running_loop().time()
            await self.send_json(
                {
                    "type": "connection",
                    "message": f"Connected to channel: {self.channel}",
                    "channel": self.channel,
                    "client_id": self.client_id,
                    "timestamp": frames.utc_timestamp(),
                    "seq": committed_seq,
                    "epoch": self.epoch,
                }
            )
            if self.since_seq is not None:
                await self._resume(committed_seq)

    def _check_handshake(self) -> None:
        channel = self.scope["url_route"]["kwargs"]["channel"]
        live_model = live_models.for_channel(channel)
        if live_model is None:
            raise ConnectionRefused("unknown_channel", f"Unknown channel: {channel}", CLOSE_UNKNOWN_CHANNEL)
        self.channel = channel

        query = parse_qs(self.scope.get("query_string", b"").decode("latin1"), keep_blank_values=True)
        client_id = _query_value(query, "client_id")
        if client_id is None:
            client_id = str(uuid.uuid4())
        elif not is_valid_client_id(client_id):
            raise ConnectionRefused(
                "invalid_client_id", "client_id must be 1-64 characters of [A-Za-z0-9_-].", CLOSE_BAD_REQUEST
            )
        self.client_id = client_id

        since = _query_value(query, "since")
        if since is not None and not (since.isascii() and since.isdigit() and len(since) <= 18):
            raise ConnectionRefused("invalid_since", "since must be a non-negative integer seq.", CLOSE_BAD_REQUEST)
        self.since_seq = int(since) if since is not None else None
        self.since_epoch = _query_value(query, "epoch")
        if self.since_epoch is not None and not is_valid_client_id(self.since_epoch):
            raise ConnectionRefused(
                "invalid_epoch", "epoch must be the epoch of a connection frame.", CLOSE_BAD_REQUEST
            )

        if self.scope.get(AUTH_ERROR_SCOPE_KEY):
            raise ConnectionRefused("auth_failed", self.scope[AUTH_ERROR_SCOPE_KEY], CLOSE_UNAUTHORIZED)
        user = self.scope.get("user")
        if live_model.requires_auth and not (user is not None and user.is_authenticated):
            raise ConnectionRefused("auth_required", f"Sign in to subscribe to channel: {channel}", CLOSE_UNAUTHORIZED)
        self.audiences = audience.audiences_of(user)
        authenticated = user is not None and user.is_authenticated
        self.user_pk = user.pk if authenticated else None
        self.user_is_staff = bool(authenticated and user.is_staff)

    async def _resume(self, committed_seq: int) -> None:
        """Replay the events after ``since``, or send ``reset`` when they cannot be replayed exactly."""
        since = self.since_seq
        if self.since_epoch is not None and self.since_epoch != self.epoch:
            await self._reset(committed_seq, "since belongs to another history of this channel; refetch.")
        elif since > committed_seq:
            await self._reset(committed_seq, f"since={since} is ahead of this channel (seq {committed_seq}); refetch.")
        else:
            self.last_seq = since
            await self._fill_gap(committed_seq)

    # --- Delivery ---------------------------------------------------------------------

    async def live_event(self, message: dict) -> None:
        """Called by the process fanout with each event published on this socket's channel."""
        async with self.delivery_lock:
            seq = message["seq"]
            if self.revoked or seq <= self.last_seq:
                return  # replayed or repaired already
            if seq > self.last_seq + 1 and not await self._fill_gap(seq - 1):
                return
            await self._deliver(seq, message["renderings"], message["exclude_client"])

    async def check_in(self, committed_seq: int, accounts: dict) -> None:
        """
        Called by the process fanout with the channel's committed seq and the current
        state of the accounts behind its sockets. A socket behind at two checks in a row
        without progress has lost events: fetch them. An idle socket gets a ``sync`` so
        its client can tell silence from loss. A socket whose user is gone or inactive
        is closed (4401); a changed staff flag changes what it sees.
        """
        async with self.delivery_lock:
            if self.revoked or not await self._recheck_account(accounts):
                return
            if self.last_seq >= committed_seq:
                self.behind_at_seq = None
                idle_secs = asyncio.get_running_loop().time() - self.last_sent_at
                if idle_secs >= realtime_setting("IDLE_SYNC_SECS"):
                    await self._send_text(frames.sync_frame(self.channel, self.last_seq))
            elif self.behind_at_seq == self.last_seq:
                logger.info(
                    "Socket on %r missed seqs %s..%s; repairing.", self.channel, self.last_seq + 1, committed_seq
                )
                await self._fill_gap(committed_seq)
                self.behind_at_seq = None
            else:
                self.behind_at_seq = self.last_seq

    async def _recheck_account(self, accounts: dict) -> bool:
        if self.user_pk is None:
            return True
        account = accounts.get(self.user_pk)
        if account is None or not account.is_active:
            self.revoked = True
            await self.send_error("auth_failed", "This account is no longer active.")
            await self.close(code=CLOSE_UNAUTHORIZED)
            return False
        if account.is_staff != self.user_is_staff:
            self.user_is_staff = account.is_staff
            self.audiences = audience.audiences_of(
                audience.Viewer(pk=self.user_pk, is_staff=account.is_staff, is_authenticated=True)
            )
        return True

    async def _fill_gap(self, upto_seq: int) -> bool:
        """Deliver the events after last_seq up to ``upto_seq`` from the history; else reset."""
        events = await database_sync_to_async(history.events_between)(self.channel, self.last_seq, upto_seq)
        if events:
            metrics.gap_repairs.labels(self.channel).inc()
        if events is None:
            committed_seq, _ = await database_sync_to_async(channel_position)(self.channel)
            await self._reset(committed_seq, f"Events after seq {self.last_seq} are no longer kept; refetch.")
            return False
        for event in events:
            await self._deliver(event.seq, event.renderings, event.exclude_client)
        return True

    async def _deliver(self, seq: int, renderings: dict[str, str], exclude_client: str | None) -> None:
        rendering = None
        if exclude_client is None or exclude_client != self.client_id:
            rendering = audience.pick_rendering(renderings, self.audiences)
        await self._send_text(rendering or frames.sync_frame(self.channel, seq))
        self.last_seq = seq

    async def _reset(self, committed_seq: int, reason: str) -> None:
        metrics.resets_sent.labels(self.channel).inc()
        await self.send_json(frames.reset_frame(self.channel, committed_seq, self.epoch, reason))
        self.last_seq = committed_seq
        self.last_sent_at = asyncio.get_running_loop().time()

    async def _send_text(self, text: str) -> None:
        await self.send(text_data=text)
        self.last_sent_at = asyncio.get_running_loop().time()

    # --- Client frames and closing ----------------------------------------------------

    async def disconnect(self, code: int) -> None:
        """Called when the socket closes, whoever closed it."""
        if self.subscribed:
            self.subscribed = False
            await process_fanout.remove(self)
            await presence.left(self.channel)
            metrics.sockets_open.labels(self.channel).dec()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Called with each client frame; malformed ones get an error frame, never a close."""
        if not self.client_frames.take():
            await self.send_error("rate_limited", "Too many frames; slow down and reconnect.")
            await self.close(code=CLOSE_RATE_LIMITED)
            return
        if text_data is None:
            await self.send_error("bad_request", "Binary frames are not supported; send JSON text.")
            return
        try:
            content = json.loads(text_data)
        except ValueError:
            await self.send_error("bad_json", "Frame is not valid JSON.")
            return
        if not isinstance(content, dict) or not isinstance(content.get("type"), str):
            await self.send_error("bad_request", 'Frame must be a JSON object with a string "type".')
            return
        message_type = content["type"]
        if message_type not in self.client_message_types:
            await self.send_error("unknown_type", f"Unknown message type: {message_type[:64]}")
            return
        await getattr(self, f"client_{message_type}")(content)

    async def client_ping(self, content: dict) -> None:
        await self.send_json({"type": "pong", "message": "pong"})

    async def client_get_stats(self, content: dict) -> None:
        await self.send_json({"type": "stats", "data": await presence.stats()})

    async def send_error(self, code: str, message: str) -> None:
        await self.send_json({"type": "error", "code": code, "message": message})
