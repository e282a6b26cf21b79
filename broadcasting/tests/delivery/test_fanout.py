"""One layer subscription per channel per process, however many sockets it serves."""

import asyncio

import pytest
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.test import override_settings

from broadcasting import metrics
from broadcasting.delivery.fanout import ChannelFanout
from broadcasting.layer.groups import group_name
from broadcasting.wire.events import LiveEvent
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
    user_pk = None

    def offer(self, event, now: float) -> None:
        raise RuntimeError("socket went away mid-offer")

    def offer_presence(self, change) -> None:
        return None

    def check_in(self, committed_seq: int, now: float) -> None:
        return None


async def test_a_socket_failing_does_not_stop_delivery_to_the_others():
    from asgiref.sync import sync_to_async

    from broadcasting.delivery.fanout import process_fanout
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


class BurstSubscription:
    """Stands in for the layer: hands over its messages one after another without a pause, then waits."""

    def __init__(self, messages: list) -> None:
        self.messages = messages

    async def join(self) -> None:
        return None

    async def receive(self):
        if self.messages:
            return self.messages.pop(0)
        await asyncio.Future()  # nothing more: wait to be cancelled

    async def leave(self) -> None:
        return None


class RecordingSocket:
    channel = "posts"
    credentials = None

    def __init__(self) -> None:
        self.seqs: list[int] = []

    def offer(self, event, now: float) -> None:
        self.seqs.append(event.seq)

    def check_in(self, committed_seq: int, accounts, now: float) -> None:
        return None


async def relay_burst(count: int) -> tuple[list[int], float]:
    """A channel's fan-out handed ``count`` events at once: the seqs its socket was offered, and the drops counted."""
    fanout = ChannelFanout("posts", asyncio.get_running_loop())
    burst = BurstSubscription([LiveEvent("posts", seq, {"public": "{}"}) for seq in range(1, count + 1)])
    fanout.subscription = burst  # type: ignore[assignment]  # standing in for the layer
    socket = RecordingSocket()
    fanout.sockets.add(socket)
    drops_before = metrics.relay_drops.labels("posts")._value.get()
    await fanout.start()
    for _ in range(10):
        await asyncio.sleep(0)
    await fanout.stop()
    return socket.seqs, metrics.relay_drops.labels("posts")._value.get() - drops_before


@override_settings(REALTIME={"RELAY_BACKLOG_MESSAGES": 3})
async def test_a_burst_beyond_the_backlog_is_dropped_and_counted_and_the_rest_offered_in_order():
    """The layer is read as fast as it delivers; what the fan-out has not reached waits, up to the bound."""
    assert await relay_burst(10) == ([1, 2, 3], 7)


async def test_within_the_backlog_every_message_is_offered_in_order():
    assert await relay_burst(50) == (list(range(1, 51)), 0)


def test_a_backlog_that_holds_no_message_is_refused_by_a_check(settings):
    from broadcasting.checks import check_relay_backlog_holds_a_message

    for size in (0, -1, 2.5, "many"):
        settings.REALTIME = {"RELAY_BACKLOG_MESSAGES": size}
        assert [error.id for error in check_relay_backlog_holds_a_message()] == ["broadcasting.E005"], size
    for size in (1, 1000):
        settings.REALTIME = {"RELAY_BACKLOG_MESSAGES": size}
        assert check_relay_backlog_holds_a_message() == []


class Recorder:
    """A listener of the hub's membership, as socket counts and presence are."""

    def __init__(self) -> None:
        self.heard: list[tuple[str, str]] = []

    def joined(self, socket) -> None:
        self.heard.append(("joined", socket.channel))

    def left(self, socket) -> None:
        self.heard.append(("left", socket.channel))


class FailingListener:
    def joined(self, socket) -> None:
        raise RuntimeError("a listener's bug")

    left = joined


async def test_listeners_hear_each_join_and_leave_once_and_a_failing_one_stops_nothing():
    from broadcasting.delivery.fanout import ProcessFanout

    hub, recorder = ProcessFanout(), Recorder()
    hub.listen(FailingListener())
    hub.listen(recorder)
    hub.listen(recorder)  # listening twice is listening once
    member = BrokenSocket()
    await hub.add(member)
    hub.remove(member)
    hub.remove(member)  # a second leave is no leave
    assert recorder.heard == [("joined", "posts"), ("left", "posts")]
    await asyncio.sleep(0)  # the last leave stops the channel's tasks
