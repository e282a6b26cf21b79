"""
Shape checks for every frame of docs/protocol.md. Tests pass every frame they receive
through ``assert_frame_shape`` so a frame that drifts from the protocol fails loudly.
"""

from datetime import datetime
from typing import Any

from broadcasting.wire.protocol import ErrorCode, MultiplexServerFrame, ServerFrame

MODEL_EVENT_KEYS = {"type", "model", "channel", "timestamp", "seq", "data"}
CUSTOM_EVENT_KEYS = {"type", "channel", "timestamp", "seq", "data"}

# The keys of each frame type broadcasting/wire/protocol.py names (a test checks none is missing).
FRAME_KEYS: dict[str, set[str]] = {
    ServerFrame.CONNECTION: {"type", "message", "channel", "client_id", "timestamp", "seq", "epoch"},
    ServerFrame.CREATED: MODEL_EVENT_KEYS,
    ServerFrame.UPDATED: MODEL_EVENT_KEYS,
    ServerFrame.DELETED: MODEL_EVENT_KEYS,
    ServerFrame.PONG: {"type", "message"},
    ServerFrame.STATS: {"type", "data"},
    ServerFrame.RESET: {"type", "channel", "seq", "epoch", "reason"},
    ServerFrame.SYNC: {"type", "channel", "seq"},
    ServerFrame.ERROR: {"type", "code", "message"},
    ServerFrame.PRESENCE: {"type", "channel", "data"},
    ServerFrame.JOIN: {"type", "channel", "data"},
    ServerFrame.LEAVE: {"type", "channel", "data"},
}
ERROR_CODES = set(ErrorCode)

# /ws/: its connection frame names no channel; its own frames.
MULTIPLEX_CONNECTION_KEYS = {"type", "message", "client_id", "timestamp"}
MULTIPLEX_FRAME_KEYS: dict[str, set[str]] = {
    MultiplexServerFrame.SUBSCRIBED: {"type", "channel", "seq", "epoch"},
    MultiplexServerFrame.UNSUBSCRIBED: {"type", "channel"},
}


def _assert_timestamp(value: Any) -> None:
    assert isinstance(value, str), value
    parsed = datetime.fromisoformat(value)
    offset = parsed.utcoffset()
    assert offset is not None and offset.total_seconds() == 0, value


def _assert_seq(value: Any) -> None:
    assert isinstance(value, int) and not isinstance(value, bool) and value >= 0, value


def assert_stats_body(body: Any) -> None:
    assert set(body) == {"total_channels", "channels", "total_connections"}, body
    assert isinstance(body["channels"], dict)
    assert all(isinstance(count, int) and count > 0 for count in body["channels"].values())
    assert body["total_channels"] == len(body["channels"])
    assert body["total_connections"] == sum(body["channels"].values())


def _assert_presence_body(body: Any) -> None:
    assert set(body) == {"users", "user_count", "anonymous"}, body
    assert isinstance(body["users"], list) and all(isinstance(user.get("id"), int) for user in body["users"]), body
    ids = [user["id"] for user in body["users"]]
    assert len(ids) == len(set(ids)), f"a user listed twice: {body}"
    assert isinstance(body["user_count"], int) and body["user_count"] >= len(ids), body
    assert isinstance(body["anonymous"], int) and body["anonymous"] >= 0, body


def assert_frame_shape(frame: Any, expected_type: str | None = None) -> dict:
    """Assert ``frame`` is a well-formed protocol frame (of ``expected_type``); return it."""
    assert isinstance(frame, dict), frame
    frame_type = frame.get("type")
    assert isinstance(frame_type, str), frame
    if expected_type is not None:
        assert frame_type == expected_type, frame
    keys = FRAME_KEYS.get(frame_type) or MULTIPLEX_FRAME_KEYS.get(frame_type) or CUSTOM_EVENT_KEYS
    if frame_type == "connection" and "channel" not in frame:
        keys = MULTIPLEX_CONNECTION_KEYS
    if frame_type == "error" and "channel" in frame:
        keys = keys | {"channel"}  # on /ws/: the subscription it is about
    if frame_type in {"created", "updated"} and "truncated" in frame:
        # Too large to send whole: only the id, for the client to refetch over REST.
        assert frame["truncated"] is True and set(frame["data"]) == {"id"}, frame
        keys = keys | {"truncated"}
    assert set(frame) == keys, f"{frame_type} frame keys {sorted(frame)} != {sorted(keys)}"

    if "timestamp" in frame:
        _assert_timestamp(frame["timestamp"])
    if "seq" in frame:
        _assert_seq(frame["seq"])
    if frame_type in {"created", "updated", "deleted"}:
        assert frame["model"] == frame["channel"]
        assert isinstance(frame["data"], dict) and "id" in frame["data"], frame
        if frame_type == "deleted":
            assert set(frame["data"]) == {"id"}, frame
    elif frame_type == "connection" and "channel" not in frame:
        assert frame["message"] == "Connected"
    elif frame_type == "connection":
        assert frame["message"] == f"Connected to channel: {frame['channel']}"
        assert isinstance(frame["client_id"], str) and frame["client_id"]
    elif frame_type == "pong":
        assert frame["message"] == "pong"
    elif frame_type == "stats":
        assert_stats_body(frame["data"])
    elif frame_type == "error":
        assert frame["code"] in ERROR_CODES, frame
        assert isinstance(frame["message"], str) and frame["message"]
    elif frame_type == "reset":
        assert isinstance(frame["reason"], str) and frame["reason"]
    elif frame_type == "presence":
        _assert_presence_body(frame["data"])
    elif frame_type in {"join", "leave"}:
        assert set(frame["data"]) == {"user"} and isinstance(frame["data"]["user"].get("id"), int), frame
        if frame_type == "leave":
            assert set(frame["data"]["user"]) == {"id"}, frame
    if "epoch" in frame:
        assert isinstance(frame["epoch"], str) and frame["epoch"], frame
    return frame
