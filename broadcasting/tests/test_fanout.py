"""One layer subscription per channel per process, however many sockets it serves."""

import pytest
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from broadcasting.transport import group_name
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


class BrokenSocket:
    """A socket whose offer fails, as a bug in one socket's delivery would."""

    channel = "posts"
    credentials = None

    def offer(self, event, now: float) -> None:
        raise RuntimeError("socket went away mid-offer")

    def check_in(self, committed_seq: int, accounts, now: float) -> None:
        return None


async def test_a_socket_failing_does_not_stop_delivery_to_the_others():
    from asgiref.sync import sync_to_async

    from broadcasting.fanout import process_fanout
    from posts.models import Post
    from users.models import User

    healthy = await open_posts_socket()
    broken = BrokenSocket()
    await process_fanout.add(broken)

    def write(title: str) -> None:
        author, _ = User.objects.get_or_create(email="a@example.com")
        Post.objects.create(title=title, author=author, published=True)

    for title in ("first", "second"):
        await sync_to_async(write)(title)
        assert (await healthy.receive_json_from(timeout=3))["data"]["title"] == title
    process_fanout.remove(broken)
    await healthy.disconnect()
