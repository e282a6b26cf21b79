"""
Fixtures for the broadcasting tests: a fresh channel layer per test, and a listener
that joins a channel's group on that real layer to see exactly what was published.
"""

import asyncio
import json

import pytest
from asgiref.sync import sync_to_async
from channels.layers import channel_layers, get_channel_layer
from django.db import connections

from broadcasting.layer.groups import group_name
from broadcasting.live import audience
from testing.contract import assert_frame_shape


@pytest.fixture(autouse=True)
def fresh_channel_layer():
    """Each test gets a new layer instance (in-memory queues are bound to one event loop)."""
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture(autouse=True)
async def close_connections_of_the_sync_thread():
    """
    Async tests reach the database from asgiref's one sync thread, whose connections
    outlive the test; close them so PostgreSQL can drop the test database at the end.
    """
    yield
    await sync_to_async(connections.close_all)()


class GroupListener:
    """A member of a channel's group on the real layer; yields the published messages."""

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.layer = get_channel_layer()
        self.name: str | None = None

    async def __aenter__(self) -> "GroupListener":
        self.name = await self.layer.new_channel()
        await self.layer.group_add(group_name(self.channel), self.name)
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.layer.group_discard(group_name(self.channel), self.name)

    async def next_message(self, wait_secs: float = 3.0) -> dict:
        return await asyncio.wait_for(self.layer.receive(self.name), wait_secs)

    async def next_frame(self, audiences: tuple[str, ...] = (audience.STAFF, audience.PUBLIC)) -> dict:
        """The next event as a socket belonging to ``audiences`` would get it."""
        message = await self.next_message()
        rendering = audience.pick_rendering(message["renderings"], audiences)
        assert rendering is not None, f"no rendering for {audiences} in {message}"
        return assert_frame_shape(json.loads(rendering))

    async def assert_nothing(self, wait_secs: float = 0.3) -> None:
        try:
            message = await asyncio.wait_for(self.layer.receive(self.name), wait_secs)
        except TimeoutError:
            return
        raise AssertionError(f"Expected nothing published on {self.channel!r}, got {message}")


@pytest.fixture
def listen():
    """``async with listen("posts") as events:`` sees what the channel's sockets would."""
    return GroupListener
