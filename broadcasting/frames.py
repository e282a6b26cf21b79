"""
Building the JSON frames of the protocol, once per audience rather than once per socket.

The commit queue encodes each rendering to text here, so fan-out to thousands of
sockets is a dictionary lookup and a send, never a serializer call or a json.dumps per
socket. The same texts are stored in the event history, so a replayed event is
byte-for-byte the live one.
"""

import json
from datetime import UTC, datetime
from typing import Any

from django.db import models
from rest_framework.utils.encoders import JSONEncoder

from . import audience
from .registry import LiveModel


def utc_timestamp() -> str:
    return datetime.now(UTC).isoformat()


def encode(frame: dict[str, Any]) -> str:
    return json.dumps(frame, cls=JSONEncoder, separators=(",", ":"))


class _StandInRequest:
    """The little of a request a serializer reads while rendering for an audience."""

    def __init__(self, viewer: audience.Viewer) -> None:
        self.user = viewer
        self.auth = None

    def build_absolute_uri(self, location: str | None = None) -> str:
        return location or "/"


def _serialize(live_model: LiveModel, instance: models.Model, audience_key: str) -> dict:
    request = _StandInRequest(audience.viewer_for(audience_key))
    return live_model.serializer_class(instance, context={"request": request}).data


def model_event_renderings(
    live_model: LiveModel,
    instance: models.Model,
    pk: Any,
    seq: int,
    timestamp: str,
    *,
    visible_before: frozenset[str],
    visible_after: frozenset[str],
) -> dict[str, str]:
    """
    The encoded frames of one model event, keyed by audience. Each audience that could
    see the object before or after the change gets what the change means to it:
    ``updated`` (saw it, still does), ``created`` (it came into view), ``deleted``
    with ``{"id": pk}`` (it left view, or is gone). A rendering identical to the
    public one is left out: sockets fall back to the public rendering.
    """
    envelope = {"model": live_model.channel, "channel": live_model.channel, "timestamp": timestamp, "seq": seq}
    renderings: dict[str, str] = {}
    for audience_key in sorted(visible_before | visible_after):
        if audience_key in visible_after:
            action = "updated" if audience_key in visible_before else "created"
            data = _serialize(live_model, instance, audience_key)
        else:
            action, data = "deleted", {"id": pk}
        renderings[audience_key] = encode({"type": action, **envelope, "data": data})
    public = renderings.get(audience.PUBLIC)
    if public is not None:
        renderings = {key: text for key, text in renderings.items() if key == audience.PUBLIC or text != public}
    return renderings


def custom_event_renderings(channel: str, event: str, data: Any, seq: int, timestamp: str) -> dict[str, str]:
    """A custom event (broadcast_custom, broadcast_to_all_channels) goes to every reader alike."""
    frame = {"type": event, "channel": channel, "timestamp": timestamp, "seq": seq, "data": data}
    return {audience.PUBLIC: encode(frame)}


def sync_frame(channel: str, seq: int) -> str:
    """
    Tells a socket the channel is at ``seq`` and it has everything up to it that it
    may see: sent for an event it does not get (not visible to it, or its own write)
    and, now and then, on an idle socket, so a client can tell a skip from a loss.
    """
    return f'{{"type":"sync","channel":{json.dumps(channel)},"seq":{int(seq)}}}'


def reset_frame(channel: str, seq: int, epoch: str, reason: str) -> dict[str, Any]:
    return {"type": "reset", "channel": channel, "seq": seq, "epoch": epoch, "reason": reason}
