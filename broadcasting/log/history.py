"""
The durable event log that resume and gap repair read (models.ChannelEvent).

Rows are written by the commit queue inside the writer's transaction and read back
by consumers: a socket resuming with ``?since=`` and a socket that noticed a gap get
the exact events from here. History is kept for REALTIME["HISTORY_RETENTION_SECS"]
and at most REALTIME["HISTORY_MAX_EVENTS"] events per channel; older events are
pruned every REALTIME["PRUNE_EVERY_EVENTS"] events and by `manage.py prune_history`.
A client asking for pruned events gets ``reset``.
"""

from datetime import timedelta
from typing import cast

from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import timezone

from broadcasting.conf import realtime_setting
from broadcasting.models import ChannelEvent
from broadcasting.wire.events import LiveEvent


def record(event: LiveEvent, using: str) -> None:
    """
    Write an event to the log; call inside the transaction that took its seq. Every
    write does this, so it is one INSERT of values the fields prepare themselves, not a
    model saved through the ORM (which cost the write more than the INSERT did).
    """
    connection = connections[using]
    values = {
        "channel": event.channel,
        "seq": event.seq,
        "renderings": dict(event.renderings),
        "exclude_client": event.exclude_client or "",
        "scope": dict(event.scope) if event.scope is not None else None,
        "created_at": timezone.now(),
    }
    fields = [field for field in ChannelEvent._meta.concrete_fields if field.name in values]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(cast(str, field.column)) for field in fields)  # a concrete field has one
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(ChannelEvent._meta.db_table)} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})",
            [field.get_db_prep_save(values[field.name], connection) for field in fields],
        )


def record_many(events: list[LiveEvent], using: str) -> None:
    """Write several events to the log in one INSERT (a cascade's deletes)."""
    ChannelEvent.objects.using(using).bulk_create(
        ChannelEvent(
            channel=event.channel,
            seq=event.seq,
            renderings=dict(event.renderings),
            exclude_client=event.exclude_client or "",
            scope=dict(event.scope) if event.scope is not None else None,
        )
        for event in events
    )


def rewrite(event: LiveEvent, using: str) -> None:
    """Replace a logged event's renderings (a later save of the same object, same transaction)."""
    ChannelEvent.objects.using(using).filter(channel=event.channel, seq=event.seq).update(
        renderings=dict(event.renderings),
        exclude_client=event.exclude_client or "",
        scope=dict(event.scope) if event.scope is not None else None,
    )


def events_page(
    channel: str, after_seq: int, upto_seq: int, limit: int, using: str = DEFAULT_DB_ALIAS
) -> list[LiveEvent] | None:
    """
    The first ``limit`` events with after_seq < seq <= upto_seq, in order; None when
    the log no longer holds them all (pruned), so the caller must send ``reset``.
    Readers page through a long stretch with this, so memory stays bounded by
    ``limit`` however much history a client asks for.
    """
    if upto_seq <= after_seq:
        return []
    wanted = min(limit, upto_seq - after_seq)
    rows = list(
        ChannelEvent.objects.using(using)
        .filter(channel=channel, seq__gt=after_seq, seq__lte=after_seq + wanted)
        .order_by("seq")
        .values_list("seq", "renderings", "exclude_client", "scope")
    )
    if len(rows) != wanted:
        return None
    return [
        LiveEvent(channel, seq, renderings, exclude_client or None, scope)
        for seq, renderings, exclude_client, scope in rows
    ]


def prune(channel: str, latest_seq: int, using: str = DEFAULT_DB_ALIAS) -> int:
    """Delete the channel's events beyond the retention age or count; return how many."""
    oldest_kept_seq = latest_seq - realtime_setting("HISTORY_MAX_EVENTS")
    cutoff = timezone.now() - timedelta(seconds=realtime_setting("HISTORY_RETENTION_SECS"))
    # Plain SQL: the ORM's delete() would load every row first to send signals.
    with connections[using].cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {ChannelEvent._meta.db_table} WHERE channel = %s AND (seq <= %s OR created_at < %s)",
            [channel, oldest_kept_seq, cutoff],
        )
        return cursor.rowcount


def should_prune_after(seq: int) -> bool:
    return seq % realtime_setting("PRUNE_EVERY_EVENTS") == 0
