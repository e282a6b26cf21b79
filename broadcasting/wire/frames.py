"""
Building the JSON frames of the protocol, once per audience rather than once per socket.

The commit queue encodes each rendering to text here, so fan-out to thousands of
sockets is a dictionary lookup and a send, never a serializer call or a json.dumps per
socket. The same texts are stored in the event history, so a replayed event is
byte-for-byte the live one.
"""

import json
import threading
from datetime import UTC, datetime
from typing import Any

from django.db import models
from rest_framework.utils.encoders import JSONEncoder

from broadcasting.conf import realtime_setting
from broadcasting.live import audience
from broadcasting.live.registry import LiveModel
from broadcasting.wire.protocol import MultiplexServerFrame, ServerFrame


class FrameTooLarge(ValueError):
    """A custom event whose frame would exceed REALTIME["MAX_FRAME_BYTES"]."""


class RenderingFailed(RuntimeError):
    """
    A live model's serializer raised while rendering an event. Rendering runs in the
    writer's transaction, so the write fails with this error (naming the serializer,
    the object and the audience) and rolls back: never a silently wrong or missing
    frame. A serializer that fails for a stand-in viewer (audience.Viewer) would fail
    for that kind of reader over REST too.
    """


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


class _StandInRequest:
    """The little of a request a serializer reads while rendering for an audience."""

    def __init__(self, viewer: audience.Viewer) -> None:
        self.user = viewer
        self.auth = None

    def build_absolute_uri(self, location: str | None = None) -> str:
        return location or "/"


# One serializer per (serializer class, audience) and thread, reused for every event:
# building a serializer's fields costs more than rendering an object with them.
_serializers = threading.local()
SERIALIZER_CACHE_SIZE = 512


def _serializer_for(live_model: LiveModel, audience_key: str):
    cache = getattr(_serializers, "by_key", None)
    if cache is None or len(cache) >= SERIALIZER_CACHE_SIZE:
        cache = _serializers.by_key = {}
    key = (live_model.serializer_class, audience_key)
    serializer = cache.get(key)
    if serializer is None:
        request = _StandInRequest(audience.viewer_for(audience_key))
        serializer = cache[key] = live_model.serializer_class(context={"request": request})
    return serializer


def serialize_for(live_model: LiveModel, instance: models.Model, audience_key: str) -> dict:
    """``instance`` as the live model's serializer shows it to the audience's stand-in viewer."""
    serializer = _serializer_for(live_model, audience_key)
    serializer.instance = instance  # as if built for it, for serializers that read self.instance
    try:
        return serializer.to_representation(instance)
    except Exception as error:
        raise RenderingFailed(
            f"{live_model.serializer_class.__qualname__} failed to render {live_model.model_label} "
            f"pk={instance.pk} for audience {audience_key!r}: {type(error).__name__}: {error}"
        ) from error
    finally:
        serializer.instance = None


def left_scope_frame(channel: str, pk: Any, seq: int, timestamp: str) -> str:
    """The ``deleted`` frame a filtered socket gets when the object leaves its filter."""
    return encode(
        {
            "type": "deleted",
            "model": channel,
            "channel": channel,
            "timestamp": timestamp,
            "seq": seq,
            "data": {"id": pk},
        }
    )


def model_event_renderings(
    live_model: LiveModel,
    instance: models.Model,
    pk: Any,
    seq: int,
    timestamp: str,
    *,
    visible_before: frozenset[str],
    visible_after: frozenset[str],
    previous: models.Model | None = None,
) -> dict[str, str]:
    """
    The encoded frames of one model event, keyed by audience. Each audience that could
    see the object before or after the change gets what the change means to it:
    ``updated`` (saw it, still does), ``created`` (it came into view), ``deleted``
    with ``{"id": pk}`` (it left view, or is gone). A rendering identical to the
    public one is left out: sockets fall back to the public rendering.

    A rendering larger than REALTIME["MAX_FRAME_BYTES"] goes out as ``{"id": pk}``
    with ``"truncated": true``: the client refetches that object over REST. One huge
    object thus never exceeds a server's frame limit or stalls a channel, and its seq
    counts like any other.

    Given ``previous`` (the object as it was stored), an audience that sees it the same
    before and after gets audience.NOTHING_VISIBLE: a password or a hidden flag
    changing is nobody's news but staff's, and not even theirs when they cannot see it.
    """
    max_frame_bytes = realtime_setting("MAX_FRAME_BYTES")
    envelope = {"model": live_model.channel, "channel": live_model.channel, "timestamp": timestamp, "seq": seq}
    renderings: dict[str, str] = {}
    for audience_key in sorted(visible_before | visible_after):
        if audience_key in visible_after:
            action = "updated" if audience_key in visible_before else "created"
            data = serialize_for(live_model, instance, audience_key)
            if (
                action == "updated"
                and previous is not None
                and serialize_for(live_model, previous, audience_key) == data
            ):
                renderings[audience_key] = audience.NOTHING_VISIBLE
                continue
        else:
            action, data = "deleted", {"id": pk}
        text = encode({"type": action, **envelope, "data": data})
        if len(text) > max_frame_bytes:
            text = encode({"type": action, **envelope, "data": {"id": pk}, "truncated": True})
        renderings[audience_key] = text
    public = renderings.get(audience.PUBLIC)
    if public is not None:
        renderings = {key: text for key, text in renderings.items() if key == audience.PUBLIC or text != public}
    return renderings


def custom_event_renderings(channel: str, event: str, data: Any, seq: int, timestamp: str) -> dict[str, str]:
    """
    A custom event (broadcast_custom, broadcast_to_all_channels) goes to every reader
    alike. It has no object to refetch, so one over REALTIME["MAX_FRAME_BYTES"] is
    refused (FrameTooLarge) and its transaction's seq and history row roll back with it.
    """
    text = encode({"type": event, "channel": channel, "timestamp": timestamp, "seq": seq, "data": data})
    max_frame_bytes = realtime_setting("MAX_FRAME_BYTES")
    if len(text) > max_frame_bytes:
        raise FrameTooLarge(
            f"Custom event {event!r} on {channel!r} is {len(text)} bytes encoded; "
            f'REALTIME["MAX_FRAME_BYTES"] is {max_frame_bytes}.'
        )
    return {audience.PUBLIC: text}


def sync_frame(channel: str, seq: int) -> str:
    """
    Tells a socket the channel is at ``seq`` and it has everything up to it that it
    may see: sent for an event it does not get (not visible to it, or its own write)
    and, now and then, on an idle socket, so a client can tell a skip from a loss.
    """
    return f'{{"type":"sync","channel":{json.dumps(channel)},"seq":{int(seq)}}}'


def reset_frame(channel: str, seq: int, epoch: str, reason: str) -> dict[str, Any]:
    return {"type": ServerFrame.RESET.value, "channel": channel, "seq": seq, "epoch": epoch, "reason": reason}
