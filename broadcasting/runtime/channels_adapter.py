"""
Channels' adapter: a WebSocket consumer that awaits the server's messages in its own
task. Channels' ``AsyncConsumer.__call__`` awaits them through ``await_many_dispatch``,
which keeps one more task per socket for the socket's whole life, even with no channel
layer; an idle socket's memory is what ``make serve`` is sized by.

This replaces ``__call__`` and sets what Channels' own sets (``scope``,
``channel_layer``, ``base_send``) for a consumer with no channel layer of its own;
broadcasting/tests/runtime/test_channels_adapter.py fails if a pinned Channels sets more.
"""

from typing import Any

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

    def ended(self) -> None:
        """Called once when the consumer ends, whatever ended it (a close, a crash, a cancelled task)."""
