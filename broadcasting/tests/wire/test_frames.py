"""wire/frames.py: every frame the server builds has the shape docs/protocol.md gives it."""

import json

from broadcasting.wire import frames
from broadcasting.wire.protocol import ErrorCode
from testing.contract import assert_frame_shape

NOW = frames.utc_timestamp()
POST = {"id": 1, "title": "t", "body": "", "author": 2, "author_name": "a", "published": True,
        "created_at": NOW, "updated_at": NOW}  # fmt: skip


def test_each_frame_builder_makes_its_documented_shape():
    built = [
        (frames.connection_frame("tab-1"), "connection"),
        (frames.connection_frame("tab-1", "posts", 3, "e1"), "connection"),
        (frames.subscribed_frame("posts", 3, "e1"), "subscribed"),
        (frames.unsubscribed_frame("posts"), "unsubscribed"),
        (frames.pong_frame(), "pong"),
        (frames.stats_frame({"total_connections": 0, "total_channels": 0, "channels": {}}), "stats"),
        (frames.channel_error_frame(ErrorCode.BAD_REQUEST, "no", "posts"), "error"),
        (frames.model_event_frame("updated", "posts", 3, NOW, POST), "updated"),
        (frames.model_event_frame("created", "posts", 3, NOW, {"id": 1}, truncated=True), "created"),
        (frames.custom_event_frame("notice", "posts", 3, NOW, {"a": 1}), "notice"),
        (frames.join_frame("posts", {"id": 1}), "join"),
        (frames.leave_frame("posts", 1), "leave"),
        (frames.presence_frame("posts", [{"id": 1}], 1, 0), "presence"),
        (frames.reset_frame("posts", 3, "e1", "too far behind"), "reset"),
        (json.loads(frames.sync_frame("posts", 12)), "sync"),
    ]
    for frame, frame_type in built:
        assert_frame_shape(json.loads(frames.encode(frame)), frame_type)


def test_an_error_of_a_subscription_names_its_channel_cut_short_or_null():
    assert frames.channel_error_frame(ErrorCode.BAD_REQUEST, "no", "x" * 100)["channel"] == "x" * 64
    assert frames.channel_error_frame(ErrorCode.BAD_REQUEST, "no", ["posts"])["channel"] is None


def test_sync_frame_is_valid_json_with_the_seq():
    assert assert_frame_shape(json.loads(frames.sync_frame('po"sts', 12)), "sync")["seq"] == 12


def test_a_frame_with_an_unknown_key_or_a_wrong_type_is_refused():
    import pytest

    good = frames.model_event_frame("updated", "posts", 3, NOW, POST)
    assert_frame_shape(json.loads(frames.encode(good)), "updated")
    for bad in (
        {**good, "extra": 1},
        {**good, "seq": "3"},
        {**good, "data": {**POST, "title": 5}},
        {**good, "data": {**POST, "secret": "x"}},
        {"type": "sync", "channel": "posts", "seq": -1},
        {"type": "error", "code": "no_such_code", "message": "x"},
    ):
        with pytest.raises(AssertionError):
            assert_frame_shape(json.loads(json.dumps(bad)))
