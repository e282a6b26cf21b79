"""
The WebSocket end of a model channel: /ws/<channel>.

A socket subscribes to one registered channel. On connect it gets the ``connection``
frame (with its client_id and the channel's current seq); after that, every committed
event of the channel that its user may see, as its user's REST serializer shows it.
Clients may send ``ping`` and ``get_stats``; anything else gets an ``error`` frame and
the socket stays open. Refusals send an ``error`` frame, then close with a 44xx code
(PROTOCOL.md, "Closing codes").
"""

import json
import logging
import uuid
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from . import audience, frames
from .context import is_valid_client_id
from .presence import presence
from .publisher import group_name
from .registry import live_models
from .sequence import current_seq
from .socket_auth import AUTH_ERROR_SCOPE_KEY

logger = logging.getLogger(__name__)

CLOSE_BAD_REQUEST = 4400
CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_UNKNOWN_CHANNEL = 4404


class ConnectionRefused(Exception):
    """Raised while checking a handshake; becomes an error frame and a 44xx close."""

    def __init__(self, code: str, message: str, close_code: int) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.close_code = close_code


class LiveChannelConsumer(AsyncJsonWebsocketConsumer):
    """One socket subscribed to one model channel."""

    # Client frame types, each handled by the method named client_<type>.
    client_message_types = frozenset({"ping", "get_stats"})

    channel: str | None = None
    client_id: str | None = None
    subscribed: bool = False

    async def connect(self) -> None:
        """Called on the handshake: check it, subscribe, then send the connection frame."""
        try:
            self._check_handshake()
        except ConnectionRefused as refusal:
            await self.accept()
            await self.send_error(refusal.code, refusal.message)
            await self.close(code=refusal.close_code)
            return

        await self.channel_layer.group_add(group_name(self.channel), self.channel_name)
        self.subscribed = True
        await self.accept()
        await presence.joined(self.channel)
        seq = await database_sync_to_async(current_seq)(self.channel)
        await self.send_json(
            {
                "type": "connection",
                "message": f"Connected to channel: {self.channel}",
                "channel": self.channel,
                "client_id": self.client_id,
                "timestamp": frames.utc_timestamp(),
                "seq": seq,
            }
        )
        if self.since_seq is not None and self.since_seq != seq:
            # No event history is kept yet, so any other starting point cannot be
            # replayed exactly: the client must refetch.
            await self.send_json(
                {
                    "type": "reset",
                    "channel": self.channel,
                    "seq": seq,
                    "reason": f"Cannot replay events after seq {self.since_seq}; refetch.",
                }
            )

    def _check_handshake(self) -> None:
        channel = self.scope["url_route"]["kwargs"]["channel"]
        live_model = live_models.for_channel(channel)
        if live_model is None:
            raise ConnectionRefused("unknown_channel", f"Unknown channel: {channel}", CLOSE_UNKNOWN_CHANNEL)
        self.channel = channel

        query = parse_qs(self.scope.get("query_string", b"").decode("latin1"), keep_blank_values=True)
        client_id = query.get("client_id", [None])[-1]
        if client_id is None:
            client_id = str(uuid.uuid4())
        elif not is_valid_client_id(client_id):
            raise ConnectionRefused(
                "invalid_client_id", "client_id must be 1-64 characters of [A-Za-z0-9_-].", CLOSE_BAD_REQUEST
            )
        self.client_id = client_id

        since = query.get("since", [None])[-1]
        if since is not None and not (since.isascii() and since.isdigit()):
            raise ConnectionRefused("invalid_since", "since must be a non-negative integer seq.", CLOSE_BAD_REQUEST)
        self.since_seq = int(since) if since is not None else None

        if self.scope.get(AUTH_ERROR_SCOPE_KEY):
            raise ConnectionRefused("auth_failed", self.scope[AUTH_ERROR_SCOPE_KEY], CLOSE_UNAUTHORIZED)
        user = self.scope.get("user")
        if live_model.requires_auth and not (user is not None and user.is_authenticated):
            raise ConnectionRefused("auth_required", f"Sign in to subscribe to channel: {channel}", CLOSE_UNAUTHORIZED)
        self.audiences = audience.audiences_of(user)

    async def disconnect(self, code: int) -> None:
        """Called when the socket closes, whoever closed it."""
        if self.subscribed:
            self.subscribed = False
            await self.channel_layer.group_discard(group_name(self.channel), self.channel_name)
            await presence.left(self.channel)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Called with each client frame; malformed ones get an error frame, never a close."""
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

    async def live_event(self, message: dict) -> None:
        """Called for each event published on this socket's channel group."""
        if message.get("exclude_client") is not None and message["exclude_client"] == self.client_id:
            return
        rendering = audience.pick_rendering(message["renderings"], self.audiences)
        if rendering is not None:
            await self.send(text_data=rendering)

    async def send_error(self, code: str, message: str) -> None:
        await self.send_json({"type": "error", "code": code, "message": message})
