"""
Reading and taking per-channel seqs (see models.ChannelSequence for why they are ordered).
"""

from django.db import DEFAULT_DB_ALIAS, connections

from .models import ChannelSequence


def take_next_seq(channel: str, using: str = DEFAULT_DB_ALIAS) -> int:
    """
    Return the channel's next seq, locking its counter row until the caller's
    transaction ends. Call inside transaction.atomic(); outside one the lock would be
    released at once and the ordering guarantee lost. On PostgreSQL and SQLite this is
    one ``UPDATE … RETURNING`` (the UPDATE takes the row lock); elsewhere it is a
    SELECT … FOR UPDATE and an UPDATE.
    """
    connection = connections[using]
    if connection.vendor in ("postgresql", "sqlite"):
        table = connection.ops.quote_name(ChannelSequence._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET last_seq = last_seq + 1 WHERE channel = %s RETURNING last_seq", [channel]
            )
            row = cursor.fetchone()
        if row is not None:
            return row[0]
    counters = ChannelSequence.objects.using(using)
    counter = counters.select_for_update().filter(channel=channel).first()
    if counter is None:
        # First event on this channel: create the row (a concurrent creator wins the
        # race harmlessly), then lock it like any other.
        counters.get_or_create(channel=channel)
        counter = counters.select_for_update().get(channel=channel)
    counter.last_seq += 1
    counter.save(update_fields=["last_seq"])
    return counter.last_seq


def channel_position(channel: str, using: str = DEFAULT_DB_ALIAS) -> tuple[int, str]:
    """
    (seq of the channel's latest committed event, the channel's history epoch). A
    channel with no event yet gets its row (and so its epoch) here.
    """
    counter, _ = ChannelSequence.objects.using(using).get_or_create(channel=channel)
    return counter.last_seq, counter.epoch


def current_seq(channel: str, using: str = DEFAULT_DB_ALIAS) -> int:
    """The seq of the channel's latest committed event (0 before the first)."""
    return ChannelSequence.objects.using(using).filter(channel=channel).values_list("last_seq", flat=True).first() or 0
