"""
The one module that sends to the channel layer (fanout.py is the receiving end).

Application code announces changes with the seed guide's names; each call takes its
seq in the current transaction and sends only after it commits::

    from broadcasting import publisher

    publisher.broadcast_created(post)                   # after bulk_create, say
    publisher.broadcast_custom("users", "user_login", {"user_id": 7})
    publisher.broadcast_to_all_channels({"type": "maintenance",
                                         "message": "Server will restart in 5 minutes"})

Model saves and deletes need no call at all: signals.py queues them. One should
always use these on-commit functions; ``send_event_rollback_unsafe`` sends at once,
whatever later happens to the transaction, and exists for the commit queue alone.

A failing layer (Redis down, frozen or full) never fails the write: the send is
bounded by REALTIME["PUBLISH_TIMEOUT_SECS"], and errors are logged, not raised.
"""

import asyncio
import logging
import re
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import DEFAULT_DB_ALIAS, models, router

from . import audience, commit_queue, metrics
from .conf import realtime_setting
from .registry import LiveModel, live_models

logger = logging.getLogger(__name__)

# The group message type every consumer handles (consumers.LiveChannelConsumer.live_event).
LIVE_EVENT_MESSAGE_TYPE = "live.event"

CUSTOM_EVENT_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
RESERVED_EVENT_TYPES = frozenset(
    {"connection", "created", "updated", "deleted", "pong", "stats", "reset", "error", "sync"}
)


def group_name(channel: str) -> str:
    """The Channels group whose members are the sockets subscribed to ``channel``."""
    return f"live.{channel}"


def send_event_rollback_unsafe(
    channel: str, seq: int, renderings: dict[str, str], exclude_client: str | None = None
) -> bool:
    """
    Send an already-rendered event to the channel's group now. Returns whether the layer
    took it. Unsafe: called inside a transaction that later rolls back, the event is
    out anyway; use the broadcast_* functions instead.
    """
    message = {
        "type": LIVE_EVENT_MESSAGE_TYPE,
        "channel": channel,
        "seq": seq,
        "renderings": renderings,
        "exclude_client": exclude_client,
    }
    try:
        async_to_sync(_group_send)(group_name(channel), message)
    except Exception:
        logger.exception("Could not publish seq %s on channel %r; sockets get it from the history.", seq, channel)
        metrics.publish_failures.labels(channel).inc()
        return False
    metrics.events_published.labels(channel).inc()
    return True


async def _group_send(group: str, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    await asyncio.wait_for(layer.group_send(group, message), timeout=realtime_setting("PUBLISH_TIMEOUT_SECS"))


def _live_model_of(instance: models.Model) -> LiveModel:
    live_model = live_models.for_model(type(instance))
    if live_model is None:
        raise ValueError(f"{type(instance).__name__} is not registered as a live model.")
    return live_model


def _queue(
    instance: models.Model,
    *,
    visible_before: frozenset[str] | None,
    deleted: bool,
    exclude_client: str | None,
    using: str | None,
) -> None:
    live_model = _live_model_of(instance)
    if visible_before is None:
        visible_before = audience.visible_to(live_model, instance)
    commit_queue.queue_model_event(
        live_model,
        instance,
        visible_before=visible_before,
        deleted=deleted,
        exclude_client=exclude_client,
        using=using or router.db_for_write(type(instance), instance=instance),
        send=send_event_rollback_unsafe,
    )


def broadcast_created(instance: models.Model, *, exclude_client: str | None = None, using: str | None = None) -> None:
    """Announce ``instance`` as created once the current transaction commits."""
    _queue(instance, visible_before=frozenset(), deleted=False, exclude_client=exclude_client, using=using)


def broadcast_updated(
    instance: models.Model,
    *,
    previous: models.Model | None = None,
    exclude_client: str | None = None,
    using: str | None = None,
) -> None:
    """
    Announce ``instance``'s current state once the current transaction commits. Pass
    ``previous`` (the object as it was) when the change may move it into or out of
    someone's view: they then get ``created`` or ``deleted`` instead of ``updated``.
    """
    live_model = _live_model_of(instance)
    visible_before = audience.visible_to(live_model, previous) if previous is not None else None
    _queue(instance, visible_before=visible_before, deleted=False, exclude_client=exclude_client, using=using)


def broadcast_deleted(instance: models.Model, *, exclude_client: str | None = None, using: str | None = None) -> None:
    """Announce ``instance`` (which still has its pk) as deleted once the transaction commits."""
    _queue(instance, visible_before=None, deleted=True, exclude_client=exclude_client, using=using)


def broadcast_custom(
    channel: str, event: str, data: Any, *, exclude_client: str | None = None, using: str = DEFAULT_DB_ALIAS
) -> None:
    """
    Send ``{"type": event, "channel": channel, "seq": …, "data": data}`` to every socket of
    ``channel`` once the current transaction commits. ``event`` must not be a protocol type.
    """
    if live_models.for_channel(channel) is None:
        raise ValueError(f"Unknown channel {channel!r}; registered: {', '.join(live_models.channels())}.")
    if not CUSTOM_EVENT_RE.match(event) or event in RESERVED_EVENT_TYPES:
        raise ValueError(f"Invalid custom event name {event!r}.")
    commit_queue.queue_custom_event(
        channel, event, data, exclude_client=exclude_client, using=using, send=send_event_rollback_unsafe
    )


def broadcast_to_all_channels(message: dict[str, Any], *, using: str = DEFAULT_DB_ALIAS) -> None:
    """
    The seed's all-channel broadcast: ``{"type": "maintenance", "message": "…"}`` reaches
    every socket of every channel as a custom event whose data is the rest of the message.
    """
    if not isinstance(message.get("type"), str):
        raise ValueError("The message needs a string 'type'.")
    data = {key: value for key, value in message.items() if key != "type"}
    for channel in live_models.channels():
        broadcast_custom(channel, message["type"], data, using=using)
