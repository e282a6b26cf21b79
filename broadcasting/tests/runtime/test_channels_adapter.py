"""runtime/channels_adapter.py's contract with the pinned Channels: its __call__ sets what Channels' own sets."""

import ast
import inspect
import textwrap

import pytest
from channels.consumer import AsyncConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.testing import WebsocketCommunicator

from broadcasting.runtime.channels_adapter import OneTaskJsonWebsocketConsumer

pytestmark = pytest.mark.django_db


def attributes_set_by(function) -> set[str]:
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    return {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.ctx, ast.Store)
        and getattr(node.value, "id", "") == "self"
    }


def test_channels_sets_nothing_more_than_the_adapter_does_for_a_consumer_without_a_layer():
    """What Channels' __call__ sets, less what only a consumer with a channel layer gets."""
    with_a_layer_only = {"channel_name", "channel_receive"}
    assert attributes_set_by(AsyncConsumer.__call__) - with_a_layer_only == attributes_set_by(
        OneTaskJsonWebsocketConsumer.__call__
    )


class Echo(OneTaskJsonWebsocketConsumer):
    ends = 0

    async def receive_json(self, content, **kwargs):
        await self.send_json(content)

    def ended(self) -> None:
        Echo.ends += 1


async def test_a_consumer_on_the_adapter_answers_and_ends_once():
    communicator = WebsocketCommunicator(Echo.as_asgi(), "/ws/")
    assert (await communicator.connect())[0]
    await communicator.send_json_to({"type": "ping"})
    assert await communicator.receive_json_from() == {"type": "ping"}
    await communicator.disconnect()
    assert Echo.ends == 1


def names_called(function) -> set[str]:
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    return {
        node.func.id if isinstance(node.func, ast.Name) else node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name | ast.Attribute)
    }


def test_the_adapters_dispatch_and_disconnect_are_channels_less_the_thread_hop():
    """What Channels' own do, less the close_old_connections hop (and the groups a consumer without a layer has not)."""
    assert names_called(AsyncConsumer.dispatch) - names_called(OneTaskJsonWebsocketConsumer.dispatch) == {
        "aclose_old_connections"
    }
    channels_only = names_called(AsyncWebsocketConsumer.websocket_disconnect) - names_called(
        OneTaskJsonWebsocketConsumer.websocket_disconnect
    )
    assert channels_only == {"aclose_old_connections", "group_discard", "InvalidChannelLayerError"}
    assert not OneTaskJsonWebsocketConsumer.groups


async def test_a_socket_costs_no_thread_from_connect_to_disconnect(monkeypatch):
    import asgiref.sync

    hops = []
    original = asgiref.sync.SyncToAsync.__call__

    async def counting(self, *args, **kwargs):
        hops.append(getattr(self.func, "__name__", self.func))
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(asgiref.sync.SyncToAsync, "__call__", counting)
    communicator = WebsocketCommunicator(Echo.as_asgi(), "/ws/")
    assert (await communicator.connect())[0]
    await communicator.send_json_to({"type": "ping"})
    assert await communicator.receive_json_from() == {"type": "ping"}
    await communicator.disconnect()
    assert hops == []
