"""
A committed event's frames, rendered once per audience rather than once per socket.

The commit queue renders each event here, inside the writer's transaction, with the
model's own REST serializer and a stand-in viewer per audience (live/audience.py), so
live data never shows more than REST would, and fan-out to thousands of sockets is a
lookup and a send, never a serializer call or a json.dumps per socket. The same texts
are stored in the history, so a replayed event is byte-for-byte the live one.

A model event also carries what a *filtered* socket gets when the object enters its
filter (``created``) or leaves it (``deleted``), rendered here too, so delivery only
picks a text (delivery/subscription.py) and never edits one.
"""

import threading
from dataclasses import dataclass, field
from typing import Any

from django.db import models

from broadcasting.conf import realtime_setting
from broadcasting.live import audience
from broadcasting.live.registry import LiveModel
from broadcasting.wire.frames import custom_event_frame, encode, model_event_frame
from broadcasting.wire.protocol import ServerFrame


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


class _StandInRequest:
    """The little of a request a serializer reads while rendering for an audience."""

    def __init__(self, viewer: audience.Viewer) -> None:
        self.user = viewer
        self.auth = None

    def build_absolute_uri(self, location: str | None = None) -> str:
        return location or "/"


# One serializer per (serializer class, kind of viewer) and thread, reused for every
# event: building a serializer's fields costs more than rendering an object with them.
# Every owner audience shares its kind's serializer, its stand-in viewer set per call,
# so a write by a new user builds no fields.
_serializers = threading.local()


def _serializer_for(live_model: LiveModel, audience_key: str):
    cache = getattr(_serializers, "by_key", None)
    if cache is None:
        cache = _serializers.by_key = {}
    viewer = audience.viewer_for(audience_key)
    key = (live_model.serializer_class, audience.viewer_kind(audience_key))
    serializer = cache.get(key)
    if serializer is None:
        serializer = cache[key] = live_model.serializer_class(context={"request": _StandInRequest(viewer)})
    else:
        serializer.context["request"].user = viewer
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


@dataclass(frozen=True)
class ModelEventRenderings:
    """
    The texts of one model event, keyed by audience: what each gets (``renderings``),
    and what a filtered socket gets when the object enters its filter (``entered``)
    or leaves it (``left``). A text equal to the public one is left out: a socket
    falls back to the public text. audience.NOTHING_VISIBLE: that audience gets nothing.
    """

    renderings: dict[str, str]
    entered: dict[str, str] = field(default_factory=dict)
    left: dict[str, str] = field(default_factory=dict)


def _without_public_copies(texts: dict[str, str]) -> dict[str, str]:
    public = texts.get(audience.PUBLIC)
    if public is None:
        return texts
    return {key: text for key, text in texts.items() if key == audience.PUBLIC or text != public}


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
    existed_before: bool = True,
) -> ModelEventRenderings:
    """
    Each audience that could see the object before or after the change gets what the
    change means to it: ``updated`` (saw it, still does), ``created`` (it came into
    view), ``deleted`` with ``{"id": pk}`` (it left view, or is gone).

    A rendering larger than REALTIME["MAX_FRAME_BYTES"] goes out as ``{"id": pk}``
    with ``"truncated": true``: the client refetches that object over REST, so one
    huge object never exceeds a server's frame limit or stalls a channel.

    Given ``previous`` (the object as it was stored), an audience that sees it the same
    before and after gets audience.NOTHING_VISIBLE: a password or a hidden flag
    changing is nobody's news but staff's, and not even theirs when they cannot see it.
    ``existed_before``: False for a new object, which enters every filter it matches as
    the ``created`` it already is.
    """
    max_frame_bytes = realtime_setting("MAX_FRAME_BYTES")
    channel = live_model.channel

    def text_of(action: ServerFrame, data: Any) -> str:
        text = encode(model_event_frame(action, channel, seq, timestamp, data))
        if len(text) > max_frame_bytes:
            return encode(model_event_frame(action, channel, seq, timestamp, {"id": pk}, truncated=True))
        return text

    left_text = text_of(ServerFrame.DELETED, {"id": pk})
    renderings: dict[str, str] = {}
    entered: dict[str, str] = {}
    left: dict[str, str] = {}
    for audience_key in sorted(visible_before | visible_after):
        if audience_key in visible_after:
            action = ServerFrame.UPDATED if audience_key in visible_before else ServerFrame.CREATED
            data = serialize_for(live_model, instance, audience_key)
            if (
                action == ServerFrame.UPDATED
                and previous is not None
                and serialize_for(live_model, previous, audience_key) == data
            ):
                renderings[audience_key] = entered[audience_key] = left[audience_key] = audience.NOTHING_VISIBLE
                continue
        else:
            action, data = ServerFrame.DELETED, {"id": pk}
        renderings[audience_key] = text = text_of(action, data)
        # Entering a filter: new to that socket. Leaving it: gone for that socket.
        if action == ServerFrame.UPDATED and live_model.filterset is not None:
            entered[audience_key] = text_of(ServerFrame.CREATED, data)
        else:
            entered[audience_key] = text if action == ServerFrame.CREATED else audience.NOTHING_VISIBLE
        left[audience_key] = audience.NOTHING_VISIBLE if action == ServerFrame.CREATED else left_text
    return ModelEventRenderings(
        _without_public_copies(renderings),
        _without_public_copies(entered) if existed_before else {},
        _without_public_copies(left),
    )


def custom_event_renderings(channel: str, event: str, data: Any, seq: int, timestamp: str) -> dict[str, str]:
    """
    A custom event (broadcast_custom, broadcast_to_all_channels) goes to every reader
    alike. It has no object to refetch, so one over REALTIME["MAX_FRAME_BYTES"] is
    refused (FrameTooLarge) and its transaction's seq and history row roll back with it.
    """
    text = encode(custom_event_frame(event, channel, seq, timestamp, data))
    max_frame_bytes = realtime_setting("MAX_FRAME_BYTES")
    if len(text) > max_frame_bytes:
        raise FrameTooLarge(
            f"Custom event {event!r} on {channel!r} is {len(text)} bytes encoded; "
            f'REALTIME["MAX_FRAME_BYTES"] is {max_frame_bytes}.'
        )
    return {audience.PUBLIC: text}
