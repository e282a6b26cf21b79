"""
Resume with ?since=: the exact suffix of the history, or a reset; never a partial
replay. Through the whole ASGI application with the real in-memory layer.
"""

from unittest import mock

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import override_settings

from broadcasting.log import history
from broadcasting.log.sequence import channel_position
from broadcasting.models import ChannelEvent
from broadcasting.publish import commit_queue
from realtime_site.asgi import application
from testing.asgi_sockets import write_posts
from testing.contract import assert_frame_shape

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.database]


async def connect(query: str) -> tuple[WebsocketCommunicator, dict]:
    communicator = WebsocketCommunicator(application, f"/ws/posts?{query}")
    connected, _ = await communicator.connect()
    assert connected
    return communicator, assert_frame_shape(await communicator.receive_json_from(timeout=3), "connection")


async def frames_until_quiet(communicator: WebsocketCommunicator) -> list[dict]:
    received = []
    while not await communicator.receive_nothing(timeout=0.3):
        received.append(assert_frame_shape(await communicator.receive_json_from(timeout=3)))
    return received


async def resume(query: str) -> tuple[dict, list[dict]]:
    communicator, connection = await connect(query)
    received = await frames_until_quiet(communicator)
    await communicator.disconnect()
    return connection, received


async def test_since_zero_replays_the_whole_history():
    pks = await sync_to_async(write_posts)(5)
    connection, received = await resume("since=0")
    assert [frame["seq"] for frame in received] == [1, 2, 3, 4, 5]
    assert [frame["data"]["id"] for frame in received] == pks
    assert connection["seq"] == 5


async def test_since_in_the_middle_replays_exactly_the_suffix():
    await sync_to_async(write_posts)(5)
    _, received = await resume("since=2")
    assert [(frame["type"], frame["seq"]) for frame in received] == [("created", 3), ("created", 4), ("created", 5)]


async def test_since_the_current_seq_replays_nothing():
    await sync_to_async(write_posts)(3)
    _, received = await resume("since=3")
    assert received == []


async def test_since_from_the_future_gets_a_reset_with_the_current_seq():
    await sync_to_async(write_posts)(3)
    _, received = await resume("since=99")
    assert [frame["type"] for frame in received] == ["reset"] and received[0]["seq"] == 3


async def test_since_pruned_events_gets_a_reset_not_a_partial_replay():
    await sync_to_async(write_posts)(5)
    await sync_to_async(ChannelEvent.objects.filter(channel="posts", seq__lte=2).delete)()
    _, received = await resume("since=1")
    assert [frame["type"] for frame in received] == ["reset"] and received[0]["seq"] == 5
    _, received = await resume("since=2")
    assert [frame["seq"] for frame in received] == [3, 4, 5]


async def test_since_from_another_database_gets_a_reset():
    await sync_to_async(write_posts)(3)
    _, received = await resume("since=1&epoch=someotherhistory0123456789abcdef")
    assert [frame["type"] for frame in received] == ["reset"]
    assert received[0]["seq"] == 3


async def test_since_with_the_right_epoch_replays():
    await sync_to_async(write_posts)(3)
    _, epoch = await sync_to_async(channel_position)("posts")
    connection, received = await resume(f"since=1&epoch={epoch}")
    assert connection["epoch"] == epoch
    assert [frame["seq"] for frame in received] == [2, 3]


async def test_resume_then_live_has_no_gap_and_no_duplicate():
    await sync_to_async(write_posts)(3)
    communicator, _ = await connect("since=1")
    await sync_to_async(write_posts)(2)
    received = await frames_until_quiet(communicator)
    await communicator.disconnect()
    assert [frame["seq"] for frame in received] == [2, 3, 4, 5]


def lost_notice(text: str) -> None:
    """Commit a custom event whose publication the layer loses (as a full or dead layer would)."""
    with mock.patch.object(commit_queue, "send_event_rollback_unsafe", lambda event: None):
        commit_queue.queue_custom_event("posts", "notice", {"text": text}, exclude_client=None, using="default")


async def test_a_gap_in_live_delivery_is_filled_from_the_history():
    """An event the layer never delivered is fetched from the history when the next one arrives."""
    communicator, connection = await connect("")
    await sync_to_async(lost_notice)("lost on the way")
    pks = await sync_to_async(write_posts)(1)
    received = await frames_until_quiet(communicator)
    await communicator.disconnect()
    assert [(frame["type"], frame["seq"]) for frame in received] == [
        ("notice", connection["seq"] + 1),
        ("created", connection["seq"] + 2),
    ]
    assert received[0]["data"] == {"text": "lost on the way"} and received[1]["data"]["id"] == pks[0]


@override_settings(REALTIME={"SEQ_CHECK_INTERVAL_SECS": 0.2, "IDLE_SYNC_SECS": 0.5})
async def test_a_lost_last_event_is_delivered_by_the_periodic_check_and_idle_sockets_get_sync():
    communicator, connection = await connect("")
    await sync_to_async(lost_notice)("nobody published me")
    frame = assert_frame_shape(await communicator.receive_json_from(timeout=3), "notice")
    assert frame["seq"] == connection["seq"] + 1
    sync = assert_frame_shape(await communicator.receive_json_from(timeout=3), "sync")
    assert sync["seq"] == frame["seq"]
    await communicator.disconnect()


def test_a_history_page_with_a_hole_is_none():
    write_posts(3)
    ChannelEvent.objects.filter(channel="posts", seq=2).delete()
    assert history.events_page("posts", 0, 3, limit=100) is None
    assert history.events_page("posts", 1, 3, limit=1) is None
    assert [event.seq for event in history.events_page("posts", 2, 3, limit=100)] == [3]
