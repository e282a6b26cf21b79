"""
Reading and taking per-channel seqs (see models.ChannelSequence for why they are ordered).

A channel's counter row stays locked from a transaction's first event to its commit, so
a long transaction makes the channel's other writers wait. On PostgreSQL that wait is
bounded by the connection's ``lock_timeout`` (DATABASE_LOCK_TIMEOUT_SECS), and at most
REALTIME["SEQ_LOCK_WAITERS"] request threads of a process wait for one channel's row at
a time: the next ones give it SEQ_BRIEF_WAIT_MS and then fail, so one held row never
takes every request thread. Either way the write fails with the database's
lock-timeout error, which the API answers 503 with Retry-After (realtime_site/busy.py).
"""

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS, connections

from .conf import realtime_setting
from .models import ChannelSequence

# How long a writer past the channel's waiters tries for the row before it gives up.
SEQ_BRIEF_WAIT_MS = 50

_waiting_lock = threading.Lock()
_waiting: Counter[tuple[str, str]] = Counter()


@contextmanager
def _waiting_for(using: str, channel: str) -> Iterator[bool]:
    """Count this thread as waiting for the channel's row; yields whether the waiters were already full."""
    key = (using, channel)
    with _waiting_lock:
        crowded = _waiting[key] >= realtime_setting("SEQ_LOCK_WAITERS")
        _waiting[key] += 1
    try:
        yield crowded
    finally:
        with _waiting_lock:
            _waiting[key] -= 1
            if _waiting[key] <= 0:
                del _waiting[key]


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
        update = f"UPDATE {table} SET last_seq = last_seq + 1 WHERE channel = %s RETURNING last_seq"
        with _waiting_for(using, channel) as crowded, connection.cursor() as cursor:
            brief = crowded and connection.vendor == "postgresql"
            if brief:
                cursor.execute(f"SET LOCAL lock_timeout = {SEQ_BRIEF_WAIT_MS}")
            cursor.execute(update, [channel])
            row = cursor.fetchone()
            if brief:
                cursor.execute("SET LOCAL lock_timeout TO DEFAULT")
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
