"""
Events waiting for their transaction to commit.

Each event takes its seq inside the writer's transaction (see log/sequence.py), is
rendered for each audience and written to the history there too, and is handed to
``transaction.on_commit`` to be published. Django drops it if the transaction or the
savepoint it was queued in rolls back, and the database forgets its seq and history
row with it, so a rolled-back change never sends. Several saves of one object in one
transaction share one pending event, which carries the final state once. A later save
inside a savepoint the event is not tied to goes into a successor event, registered in
that savepoint: if the savepoint rolls back, the successor goes with it and the
earlier event, which knows it was superseded, sends nothing live; sockets then get the
committed state from the history, never the rolled-back one.
"""

import copy
import logging
from typing import Any

from django.db import models, transaction

from broadcasting.layer.transport import send_event_rollback_unsafe
from broadcasting.live import audience
from broadcasting.live.filters import field_state
from broadcasting.live.registry import LiveModel
from broadcasting.log import history
from broadcasting.log.sequence import take_next_seq
from broadcasting.wire import frames, renderings
from broadcasting.wire.events import LiveEvent

logger = logging.getLogger(__name__)


class PendingEvent:
    """An event with its seq taken and history written, published when on_commit calls it."""

    def __init__(self, channel: str, seq: int, exclude_client: str | None, using: str) -> None:
        self.channel = channel
        self.seq = seq
        self.exclude_client = exclude_client
        self.using = using
        self.renderings: dict[str, str] = {}
        self.scope: dict[str, Any] | None = None
        # The savepoints whose rollback drops this event (Django's own record of it).
        self.tied_savepoint_ids: frozenset[str] = frozenset()
        self.superseded = False

    def register(self) -> None:
        """Hand the event to on_commit in the current transaction and savepoints."""
        transaction.on_commit(self, using=self.using, robust=True)
        self.tied_savepoint_ids = frozenset(transaction.get_connection(self.using).savepoint_ids)

    def event(self) -> LiveEvent:
        """The event as it stands (final once the transaction commits)."""
        return LiveEvent(self.channel, self.seq, self.renderings, self.exclude_client, self.scope)

    def __call__(self) -> None:
        if self.superseded:
            return  # a later save's successor sends it, or, rolled back, the history has it
        send_event_rollback_unsafe(self.event())
        if history.should_prune_after(self.seq):
            try:
                history.prune(self.channel, self.seq, self.using)
            except Exception:
                logger.exception("Pruning the history of channel %r failed.", self.channel)


class PendingModelEvent(PendingEvent):
    """The change of one object; later changes in the same transaction merge in."""

    def __init__(
        self,
        live_model: LiveModel,
        instance: models.Model,
        seq: int,
        *,
        visible_before: frozenset[str],
        state_before: dict[str, Any] | None,
        previous: models.Model | None,
        deleted: bool,
        exclude_client: str | None,
        using: str,
    ) -> None:
        super().__init__(live_model.channel, seq, exclude_client, using)
        self.live_model = live_model
        self.pk = instance.pk
        self.visible_before = visible_before
        self.state_before = state_before
        self.previous = previous  # as stored before the transaction, when the writer knows it
        self.timestamp = frames.utc_timestamp()
        self._render(instance, deleted)

    def _render(self, instance: models.Model, deleted: bool) -> None:
        visible_after = frozenset() if deleted else audience.visible_to(self.live_model, instance)
        state_after = None if deleted else field_state(self.live_model.filtered_fields, instance)
        rendered = renderings.model_event_renderings(
            self.live_model,
            instance,
            self.pk,
            self.seq,
            self.timestamp,
            visible_before=self.visible_before,
            visible_after=visible_after,
            # An object that moved in or out of a filter is news to filtered sockets.
            previous=self.previous if state_after == self.state_before else None,
            existed_before=self.state_before is not None,
        )
        self.renderings = rendered.renderings
        self.scope = {
            "before": self.state_before,
            "after": state_after,
            "entered": rendered.entered,
            "left": rendered.left,
        }

    def merge(self, instance: models.Model, deleted: bool, exclude_client: str | None) -> "PendingModelEvent":
        """
        Fold a later change of the same object into this event (final state wins);
        return the event that now carries it: this one, or a successor when the change
        is made inside a savepoint this event is not tied to.
        """
        connection = transaction.get_connection(self.using)
        if set(connection.savepoint_ids) <= self.tied_savepoint_ids:
            target = self
        else:
            target = copy.copy(self)
            self.superseded = True
        target.superseded = False
        target.exclude_client = exclude_client
        target._render(instance, deleted)
        history.rewrite(target.event(), self.using)
        if target is not self:
            target.register()
        return target


# Where a connection keeps its index of pending model events: (the run_on_commit list it
# was built from, {(channel, pk): PendingModelEvent}).
PENDING_INDEX_ATTR = "_realtime_pending_model_events"


def _pending_index(connection) -> dict[tuple[str, Any], "PendingModelEvent"]:
    """
    The pending model events of the open transaction, by (channel, pk), in O(1).

    Django only appends to ``connection.run_on_commit`` while a transaction runs, and
    puts a new list in its place when a savepoint rolls back (without the callbacks it
    dropped) or the transaction ends. So an index built for the current list object
    holds exactly the callbacks still due; a new list object means rebuild it once.
    """
    current = connection.run_on_commit
    cached = getattr(connection, PENDING_INDEX_ATTR, None)
    if cached is not None and cached[0] is current:
        return cached[1]
    index = {
        (callback.channel, callback.pk): callback
        for _savepoint_ids, callback, *_robust in current
        if isinstance(callback, PendingModelEvent)
    }
    setattr(connection, PENDING_INDEX_ATTR, (current, index))
    return index


def pending_model_event(using: str, channel: str, pk: Any) -> PendingModelEvent | None:
    """The live (not rolled back) pending event of this object in the open transaction."""
    connection = transaction.get_connection(using)
    if not connection.in_atomic_block:
        return None
    return _pending_index(connection).get((channel, pk))


def _merged_into_pending(
    live_model: LiveModel, instance: models.Model, deleted: bool, exclude_client: str | None, using: str
) -> bool:
    """Fold this change into the object's pending event of this transaction, if it has one."""
    pending = pending_model_event(using, live_model.channel, instance.pk)
    if pending is None:
        return False
    current = pending.merge(instance, deleted, exclude_client)
    _pending_index(transaction.get_connection(using))[(current.channel, current.pk)] = current
    return True


def queue_model_event(
    live_model: LiveModel,
    instance: models.Model,
    *,
    visible_before: frozenset[str],
    state_before: dict[str, Any] | None,
    deleted: bool,
    exclude_client: str | None,
    using: str,
    previous: models.Model | None = None,
) -> None:
    """Queue (or merge into the pending) event of a change to ``instance``."""
    if _merged_into_pending(live_model, instance, deleted, exclude_client, using):
        return
    # No savepoint of its own: if the event cannot be queued, the change it announces
    # must not commit either, even if the caller catches the error.
    with transaction.atomic(using=using, savepoint=False):
        seq = take_next_seq(live_model.channel, using)
        event = PendingModelEvent(
            live_model,
            instance,
            seq,
            visible_before=visible_before,
            state_before=state_before,
            previous=previous,
            deleted=deleted,
            exclude_client=exclude_client,
            using=using,
        )
        history.record(event.event(), using)
        event.register()
        _pending_index(transaction.get_connection(using))[(event.channel, event.pk)] = event


def queue_custom_event(channel: str, event_type: str, data: Any, *, exclude_client: str | None, using: str) -> None:
    """Queue a custom event; it takes its seq now and sends when the transaction commits."""
    # No savepoint of its own: if the event cannot be queued, the change it announces
    # must not commit either, even if the caller catches the error.
    with transaction.atomic(using=using, savepoint=False):
        seq = take_next_seq(channel, using)
        event = PendingEvent(channel, seq, exclude_client, using)
        event.renderings = renderings.custom_event_renderings(channel, event_type, data, seq, frames.utc_timestamp())
        history.record(event.event(), using)
        event.register()


def queue_deleted_batch(
    live_model: LiveModel,
    instances: list[models.Model],
    *,
    exclude_client: str | None,
    using: str,
) -> None:
    """
    Queue the ``deleted`` events of objects one delete removed together (a cascade, a
    queryset's delete): one seq UPDATE and one history INSERT for all of them, so the
    channel's row is held for the rendering, not for two round trips per object. An
    object with a pending event in this transaction merges into it as one delete would.
    """
    fresh = [
        instance
        for instance in instances
        if not _merged_into_pending(live_model, instance, True, exclude_client, using)
    ]
    if not fresh:
        return
    with transaction.atomic(using=using, savepoint=False):
        first_seq = take_next_seq(live_model.channel, using, count=len(fresh)) - len(fresh) + 1
        events = [
            PendingModelEvent(
                live_model,
                instance,
                first_seq + number,
                visible_before=audience.visible_to(live_model, instance),
                state_before=field_state(live_model.filtered_fields, instance),
                previous=None,
                deleted=True,
                exclude_client=exclude_client,
                using=using,
            )
            for number, instance in enumerate(fresh)
        ]
        history.record_many([event.event() for event in events], using)
        index = _pending_index(transaction.get_connection(using))
        for event in events:
            event.register()
            index[(event.channel, event.pk)] = event
