"""One layer subscription per channel per process, however many sockets it serves."""

import pytest
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from broadcasting.publisher import group_name
from realtime_site.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)


async def open_posts_socket() -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(application, "/ws/posts")
    connected, _ = await communicator.connect()
    assert connected
    await communicator.receive_json_from(timeout=3)
    return communicator


async def test_many_sockets_share_one_group_membership_which_ends_with_the_last():
    sockets = [await open_posts_socket() for _ in range(5)]
    layer = get_channel_layer()
    assert len(layer.groups[group_name("posts")]) == 1
    for socket in sockets[:-1]:
        await socket.disconnect()
    assert len(layer.groups[group_name("posts")]) == 1
    await sockets[-1].disconnect()
    assert not layer.groups.get(group_name("posts"))
