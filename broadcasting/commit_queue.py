"""
Events waiting for their transaction to commit.

Each event takes its seq inside the writer's transaction (see sequence.py) and is
handed to ``transaction.on_commit``; Django drops it if the transaction or the
savepoint it was queued in rolls back, so a rolled-back change never sends. Several
saves of one object in one transaction share one pending event, which sends the final
state once.
"""

from collections.abc import Callable
from typing import Any

from django.db import models, transaction

from . import frames
from .registry import LiveModel
from .sequence import take_next_seq

# send(channel, seq, renderings, exclude_client): the publisher's immediate send.
SendFunction = Callable[[str, int, dict[str, str], str | None], Any]

# What an object's event becomes when it changes again in the same transaction.
_MERGED_ACTION = {
    ("created", "updated"): "created",
    ("created", "deleted"): "deleted",
    ("updated", "updated"): "updated",
    ("updated", "deleted"): "deleted",
    ("deleted", "created"): "updated",
    ("deleted", "updated"): "updated",
}


class PendingEvent:
    """An event with its seq taken, sent by ``transaction.on_commit`` calling it."""

    def __init__(self, channel: str, seq: int, exclude_client: str | None, send: SendFunction) -> None:
        self.channel = channel
        self.seq = seq
        self.exclude_client = exclude_client
        self.send = send

    def render(self, timestamp: str) -> dict[str, str]:
        raise NotImplementedError

    def __call__(self) -> None:
        self.send(self.channel, self.seq, self.render(frames.utc_timestamp()), self.exclude_client)


class PendingModelEvent(PendingEvent):
    """created/updated/deleted of one object; later changes in the transaction merge in."""

    def __init__(
        self,
        live_model: LiveModel,
        action: str,
        instance: models.Model,
        seq: int,
        exclude_client: str | None,
        send: SendFunction,
    ) -> None:
        super().__init__(live_model.channel, seq, exclude_client, send)
        self.live_model = live_model
        self.action = action
        self.instance = instance
        self.pk = instance.pk

    def merge(self, action: str, instance: models.Model, exclude_client: str | None) -> None:
        """Fold a later change of the same object into this event (final state wins)."""
        self.action = _MERGED_ACTION.get((self.action, action), action)
        self.instance = instance
        self.exclude_client = exclude_client

    def render(self, timestamp: str) -> dict[str, str]:
        return frames.model_event_renderings(self.live_model, self.action, self.instance, self.pk, self.seq, timestamp)


class PendingCustomEvent(PendingEvent):
    def __init__(
        self, channel: str, event: str, data: Any, seq: int, exclude_client: str | None, send: SendFunction
    ) -> None:
        super().__init__(channel, seq, exclude_client, send)
        self.event = event
        self.data = data

    def render(self, timestamp: str) -> dict[str, str]:
        return frames.custom_event_renderings(self.channel, self.event, self.data, self.seq, timestamp)


def _pending_model_event(using: str, channel: str, pk: Any) -> PendingModelEvent | None:
    """The live (not rolled back) pending event of this object in the open transaction."""
    connection = transaction.get_connection(using)
    if not connection.in_atomic_block:
        return None
    # run_on_commit holds exactly the callbacks still due: Django removes those of
    # rolled-back savepoints, so a match here is an event that will be sent.
    for _savepoint_ids, callback, *_robust in connection.run_on_commit:
        if isinstance(callback, PendingModelEvent) and callback.channel == channel and callback.pk == pk:
            return callback
    return None


def queue_model_event(
    live_model: LiveModel,
    action: str,
    instance: models.Model,
    *,
    exclude_client: str | None,
    using: str,
    send: SendFunction,
) -> None:
    """Queue (or merge into the pending) event of a change to ``instance``."""
    pending = _pending_model_event(using, live_model.channel, instance.pk)
    if pending is not None:
        pending.merge(action, instance, exclude_client)
        return
    with transaction.atomic(using=using):
        seq = take_next_seq(live_model.channel, using)
        event = PendingModelEvent(live_model, action, instance, seq, exclude_client, send)
        transaction.on_commit(event, using=using, robust=True)


def queue_custom_event(
    channel: str, event: str, data: Any, *, exclude_client: str | None, using: str, send: SendFunction
) -> None:
    """Queue a custom event; it takes its seq now and sends when the transaction commits."""
    with transaction.atomic(using=using):
        seq = take_next_seq(channel, using)
        transaction.on_commit(
            PendingCustomEvent(channel, event, data, seq, exclude_client, send), using=using, robust=True
        )
