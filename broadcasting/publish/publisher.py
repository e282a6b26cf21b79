"""
The public API for announcing events: the FastAPI guide's broadcast_* functions.

Application code announces changes with the FastAPI guide's names; each call takes its
seq in the current transaction and sends only after it commits::

    from broadcasting.publish import publisher

    publisher.broadcast_created(post)                   # after bulk_create, say
    publisher.broadcast_custom("users", "user_login", {"user_id": 7})
    publisher.broadcast_to_all_channels({"type": "maintenance",
                                         "message": "Server will restart in 5 minutes"})

Model saves and deletes need no call at all: publish/signals.py queues them. One should
always use these on-commit functions; transport.send_event_rollback_unsafe sends at
once, whatever later happens to the transaction, and exists for the commit queue alone.
A failing layer never fails the write (see layer/transport.py).

``exclude_client`` names the socket that should not get the event (it gets ``sync``):
either a bare ``client_id``, which this server code vouches for, or the key of the
client making the current request, ``context.current_writer_key()``, which only
matches that client's sockets of the same signed-in user. Model saves use the latter.
Never pass a client id straight from a request header: anyone can send any id.
"""

import re
from typing import Any

from django.db import DEFAULT_DB_ALIAS, models, router

from broadcasting.live import audience
from broadcasting.live.filters import field_state
from broadcasting.live.registry import LiveModel, live_models
from broadcasting.publish import commit_queue
from broadcasting.wire.protocol import ServerFrame

CUSTOM_EVENT_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
# A custom event may not take the name of a frame the protocol defines.
RESERVED_EVENT_TYPES = frozenset(ServerFrame)


def _live_model_of(instance: models.Model) -> LiveModel:
    live_model = live_models.for_model(type(instance))
    if live_model is None:
        raise ValueError(f"{type(instance).__name__} is not registered as a live model.")
    return live_model


def _queue(
    instance: models.Model,
    *,
    visible_before: frozenset[str] | None,
    object_before: models.Model | None,
    deleted: bool,
    exclude_client: str | None,
    using: str | None,
    previous: models.Model | None = None,
) -> None:
    live_model = _live_model_of(instance)
    if visible_before is None:
        visible_before = audience.visible_to(live_model, instance)
    commit_queue.queue_model_event(
        live_model,
        instance,
        visible_before=visible_before,
        state_before=field_state(live_model.filtered_fields, object_before) if object_before is not None else None,
        deleted=deleted,
        exclude_client=exclude_client,
        using=using or router.db_for_write(type(instance), instance=instance),
        previous=previous,
    )


def broadcast_created(instance: models.Model, *, exclude_client: str | None = None, using: str | None = None) -> None:
    """Announce ``instance`` as created once the current transaction commits."""
    _queue(
        instance,
        visible_before=frozenset(),
        object_before=None,
        deleted=False,
        exclude_client=exclude_client,
        using=using,
    )


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
    someone's view: they then get ``created`` or ``deleted`` instead of ``updated``,
    and readers who see no difference get nothing (their sockets a ``sync``).
    """
    live_model = _live_model_of(instance)
    visible_before = audience.visible_to(live_model, previous) if previous is not None else None
    _queue(
        instance,
        visible_before=visible_before,
        object_before=previous if previous is not None else instance,
        deleted=False,
        exclude_client=exclude_client,
        using=using,
        previous=previous,
    )


def broadcast_deleted(instance: models.Model, *, exclude_client: str | None = None, using: str | None = None) -> None:
    """Announce ``instance`` (which still has its pk) as deleted once the transaction commits."""
    _queue(
        instance, visible_before=None, object_before=instance, deleted=True, exclude_client=exclude_client, using=using
    )


def broadcast_deleted_together(
    instances: list[models.Model], *, exclude_client: str | None = None, using: str | None = None
) -> None:
    """
    Announce objects of one model deleted together (a cascade, a queryset's delete) as
    ``deleted`` each, in order, once the transaction commits; their seqs and history
    rows are taken in one go, so the channel's row is held briefly.
    """
    if not instances:
        return
    live_model = _live_model_of(instances[0])
    commit_queue.queue_deleted_batch(
        live_model,
        instances,
        exclude_client=exclude_client,
        using=using or router.db_for_write(type(instances[0]), instance=instances[0]),
    )


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
    commit_queue.queue_custom_event(channel, event, data, exclude_client=exclude_client, using=using)


def broadcast_to_all_channels(message: dict[str, Any], *, using: str = DEFAULT_DB_ALIAS) -> None:
    """
    The FastAPI guide's all-channel broadcast: ``{"type": "maintenance", "message": "…"}`` reaches
    every socket of every channel as a custom event whose data is the rest of the message.
    """
    if not isinstance(message.get("type"), str):
        raise ValueError("The message needs a string 'type'.")
    data = {key: value for key, value in message.items() if key != "type"}
    for channel in live_models.channels():
        broadcast_custom(channel, message["type"], data, using=using)
