"""wire/frames.py: every frame the server builds has the shape docs/protocol.md gives it."""

import json

from broadcasting.wire import frames
from broadcasting.wire.protocol import ErrorCode
from testing.protocol import assert_frame_shape

NOW = frames.utc_timestamp()


def test_each_frame_builder_makes_its_documented_shape():
    built = [
        (frames.connection_frame("tab-1"), "connection"),
        (frames.connection_frame("tab-1", "posts", 3, "e1"), "connection"),
        (frames.subscribed_frame("posts", 3, "e1"), "subscribed"),
        (frames.unsubscribed_frame("posts"), "unsubscribed"),
        (frames.pong_frame(), "pong"),
        (frames.stats_frame({"total_connections": 0, "total_channels": 0, "channels": {}}), "stats"),
        (frames.channel_error_frame(ErrorCode.BAD_REQUEST, "no", "posts"), "error"),
        (frames.model_event_frame("updated", "posts", 3, NOW, {"id": 1}), "updated"),
        (frames.model_event_frame("created", "posts", 3, NOW, {"id": 1}, truncated=True), "created"),
        (frames.custom_event_frame("notice", "posts", 3, "t", {"a": 1}), None),
        (frames.join_frame("posts", {"id": 1}), "join"),
        (frames.leave_frame("posts", 1), "leave"),
        (frames.presence_frame("posts", [{"id": 1}], 1, 0), "presence"),
        (frames.reset_frame("posts", 3, "e1", "too far behind"), "reset"),
        (json.loads(frames.sync_frame("posts", 12)), "sync"),
    ]
    for frame, frame_type in built:
        if frame_type is not None:
            assert_frame_shape(json.loads(frames.encode(frame)), frame_type)


def test_an_error_of_a_subscription_names_its_channel_cut_short_or_null():
    assert frames.channel_error_frame(ErrorCode.BAD_REQUEST, "no", "x" * 100)["channel"] == "x" * 64
    assert frames.channel_error_frame(ErrorCode.BAD_REQUEST, "no", ["posts"])["channel"] is None


def test_sync_frame_is_valid_json_with_the_seq():
    assert assert_frame_shape(json.loads(frames.sync_frame('po"sts', 12)), "sync")["seq"] == 12
