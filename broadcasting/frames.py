"""
Building the JSON frames of PROTOCOL.md, once per audience rather than once per socket.

The publisher encodes each rendering to text here, so fan-out to thousands of sockets
is a dictionary lookup and a send, never a serializer call or a json.dumps per socket.
"""

import json
from datetime import UTC, datetime
from typing import Any

from django.db import models
from rest_framework.utils.encoders import JSONEncoder

from . import audience
from .registry import LiveModel

MODEL_ACTIONS = ("created", "updated", "deleted")


def utc_timestamp() -> str:
    return datetime.now(UTC).isoformat()


def encode(frame: dict[str, Any]) -> str:
    return json.dumps(frame, cls=JSONEncoder, separators=(",", ":"))


def _serialize(live_model: LiveModel, instance: models.Model, viewer: audience.Viewer) -> dict:
    request = _StandInRequest(viewer)
    return live_model.serializer_class(instance, context={"request": request}).data


class _StandInRequest:
    """The little of a request a serializer reads while rendering for an audience."""

    def __init__(self, viewer: audience.Viewer) -> None:
        self.user = viewer
        self.auth = None

    def build_absolute_uri(self, location: str | None = None) -> str:
        return location or "/"


def model_event_renderings(
    live_model: LiveModel, action: str, instance: models.Model, pk: Any, seq: int, timestamp: str
) -> dict[str, str]:
    """
    The encoded frames of one model event, keyed by audience. ``deleted`` carries
    ``{"id": pk}`` to everyone who could see the object; created/updated carry what the
    serializer shows each audience. A rendering identical to the public one is left out:
    the socket falls back to the public rendering.
    """
    if action not in MODEL_ACTIONS:
        raise ValueError(f"Unknown model action {action!r}")
    envelope = {
        "type": action,
        "model": live_model.channel,
        "channel": live_model.channel,
        "timestamp": timestamp,
        "seq": seq,
    }
    owner_pk = live_model.owner(instance)
    public = live_model.is_public(instance)

    if action == "deleted":
        text = encode({**envelope, "data": {"id": pk}})
        renderings = {audience.STAFF: text}
        if owner_pk is not None:
            renderings[audience.owner_audience(owner_pk)] = text
        if public:
            renderings[audience.PUBLIC] = text
        return renderings

    public_data = _serialize(live_model, instance, audience.PUBLIC_VIEWER) if public else None
    renderings: dict[str, str] = {}
    if public_data is not None:
        renderings[audience.PUBLIC] = encode({**envelope, "data": public_data})
    candidates = [(audience.STAFF, audience.STAFF_VIEWER)]
    if owner_pk is not None:
        candidates.append((audience.owner_audience(owner_pk), audience.owner_viewer(owner_pk)))
    for audience_key, viewer in candidates:
        data = _serialize(live_model, instance, viewer)
        if data != public_data:
            renderings[audience_key] = encode({**envelope, "data": data})
    return renderings


def custom_event_renderings(channel: str, event: str, data: Any, seq: int, timestamp: str) -> dict[str, str]:
    """A custom event (broadcast_custom, broadcast_to_all_channels) goes to every reader alike."""
    frame = {"type": event, "channel": channel, "timestamp": timestamp, "seq": seq, "data": data}
    return {audience.PUBLIC: encode(frame)}
