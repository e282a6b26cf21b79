"""
Every frame of the protocol, built here from the protocol's names (wire/protocol.py).

A frame that many sockets get (a model or custom event, a join or leave) is encoded
to text once, per audience (wire/renderings.py), and each socket is handed that text;
the rest are built for one socket. docs/protocol.md describes each; the suite checks
every frame a test receives against the AsyncAPI document (testing/contract.py).
"""

import functools
import json
from datetime import UTC, datetime
from typing import Any

from rest_framework.utils.encoders import JSONEncoder

from broadcasting.wire.protocol import ErrorCode, MultiplexServerFrame, ServerFrame, error_frame

# For frames of plain values only, sent per socket (sync): no encoder made per call.
_plain_json = json.JSONEncoder(separators=(",", ":"))


def utc_timestamp() -> str:
    return datetime.now(UTC).isoformat()


def encode(frame: dict[str, Any]) -> str:
    """Compact JSON; ASCII only (json.dumps escapes the rest), so len() is the size in bytes."""
    return json.dumps(frame, cls=JSONEncoder, separators=(",", ":"))


def connection_frame(
    client_id: str, channel: str | None = None, seq: int | None = None, epoch: str | None = None
) -> dict:
    """
    The first frame of an accepted socket: on /ws/ its client id; on /ws/<channel> also
    the channel, its committed seq and history epoch (the frame of its one subscription).
    """
    if channel is None:
        return {
            "type": ServerFrame.CONNECTION,
            "message": "Connected",
            "client_id": client_id,
            "timestamp": utc_timestamp(),
        }
    return {
        "type": ServerFrame.CONNECTION,
        "message": f"Connected to channel: {channel}",
        "channel": channel,
        "client_id": client_id,
        "timestamp": utc_timestamp(),
        "seq": seq,
        "epoch": epoch,
    }


def subscribed_frame(channel: str, seq: int, epoch: str) -> dict[str, Any]:
    """The answer to a /ws/ ``subscribe``: where the subscription starts."""
    return {"type": MultiplexServerFrame.SUBSCRIBED, "channel": channel, "seq": seq, "epoch": epoch}


def pong_frame() -> dict[str, Any]:
    return {"type": ServerFrame.PONG, "message": "pong"}


def stats_frame(stats: dict[str, Any]) -> dict[str, Any]:
    return {"type": ServerFrame.STATS, "data": stats}


def unsubscribed_frame(channel: str) -> dict[str, Any]:
    return {"type": MultiplexServerFrame.UNSUBSCRIBED, "channel": channel}


def channel_error_frame(code: ErrorCode, message: str, channel: object) -> dict[str, Any]:
    """An ``error`` of one /ws/ subscription, naming the channel the client gave (a string, cut short)."""
    return {**error_frame(code, message), "channel": channel[:64] if isinstance(channel, str) else None}


def model_event_frame(action: str, channel: str, seq: int, timestamp: str, data: Any, truncated: bool = False) -> dict:
    """``created``, ``updated`` or ``deleted``; ``truncated``: ``data`` is only ``{"id": pk}``, refetch it."""
    frame = {"type": action, "model": channel, "channel": channel, "timestamp": timestamp, "seq": seq, "data": data}
    if truncated:
        frame["truncated"] = True
    return frame


def custom_event_frame(event: str, channel: str, seq: int, timestamp: str, data: Any) -> dict:
    """broadcast_custom's and broadcast_to_all_channels' frame: the event's own type."""
    return {"type": event, "channel": channel, "timestamp": timestamp, "seq": seq, "data": data}


def join_frame(channel: str, user: dict[str, Any]) -> dict[str, Any]:
    return {"type": ServerFrame.JOIN, "channel": channel, "data": {"user": user}}


def leave_frame(channel: str, user_id: object) -> dict[str, Any]:
    return {"type": ServerFrame.LEAVE, "channel": channel, "data": {"user": {"id": user_id}}}


def presence_frame(channel: str, users: list[dict[str, Any]], user_count: int, anonymous: int) -> dict[str, Any]:
    return {
        "type": ServerFrame.PRESENCE,
        "channel": channel,
        "data": {"users": users, "user_count": user_count, "anonymous": anonymous},
    }


@functools.lru_cache(maxsize=256)  # every socket that skips an event gets the same one
def sync_frame(channel: str, seq: int) -> str:
    """
    Tells a socket the channel is at ``seq`` and it has everything up to it that it
    may see: sent for an event it does not get (not visible to it, or its own write)
    and, now and then, on an idle socket, so a client can tell a skip from a loss.
    """
    return _plain_json.encode({"type": ServerFrame.SYNC, "channel": channel, "seq": int(seq)})


def reset_frame(channel: str, seq: int, epoch: str, reason: str) -> dict[str, Any]:
    return {"type": ServerFrame.RESET.value, "channel": channel, "seq": seq, "epoch": epoch, "reason": reason}
