"""
Channels' adapter: a WebSocket consumer that awaits the server's messages in its own
task. Channels' ``AsyncConsumer.__call__`` awaits them through ``await_many_dispatch``,
which keeps one more task per socket for the socket's whole life, even with no channel
layer; an idle socket's memory is what ``make serve`` is sized by.

This replaces ``__call__`` and sets what Channels' own sets (``scope``,
``channel_layer``, ``base_send``) for a consumer with no channel layer of its own;
broadcasting/tests/runtime/test_channels_adapter.py fails if a pinned Channels sets more.

It also replaces ``dispatch`` and ``websocket_disconnect``, which in Channels hop to a
thread to close stale database connections around every message (connect, each client
frame, disconnect).
The consumer touches the database only through ``database_call`` (runtime/db_thread.py), which
closes them around each call itself, so here a message costs no thread.
"""

from typing import Any

from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer


class OneTaskJsonWebsocketConsumer(AsyncJsonWebsocketConsumer):
    """AsyncJsonWebsocketConsumer with no channel layer, run in the server's task alone."""

    channel_layer_alias = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.scope, self.channel_layer, self.base_send = scope, None, send
        try:
            while True:
                await self.dispatch(await receive())
        except StopConsumer:
            pass
        finally:
            self.ended()

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Channels' dispatch without its thread hop (see above)."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        """Channels' websocket_disconnect without its thread hop, and without groups (there is no layer)."""
        await self.disconnect(message["code"])
        raise StopConsumer()

    def ended(self) -> None:
        """Called once when the consumer ends, whatever ended it (a close, a crash, a cancelled task)."""
