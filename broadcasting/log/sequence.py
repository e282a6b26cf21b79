"""
Reading and taking per-channel seqs (see models.ChannelSequence for why they are ordered).

A channel's counter row stays locked from a transaction's first event to its commit, so
a long transaction makes the channel's other writers wait. On PostgreSQL that wait is
bounded by the connection's ``lock_timeout`` (DATABASE_LOCK_TIMEOUT_SECS), and at most
REALTIME["SEQ_LOCK_WAITERS"] request threads of a process wait the whole bound for one
channel's row. A writer beyond them waits only while the row looks briefly taken: once
this process's oldest waiter has waited SEQ_HELD_MS, the row is held by a long
transaction and the writer gives up at once, so one held row never takes every request
thread. Either way the write fails with the database's lock-timeout error, which the
API answers 503 with Retry-After (realtime_site/busy.py).
"""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS, connections

from broadcasting.conf import realtime_setting
from broadcasting.models import ChannelSequence

# A row its waiters have waited this long for is held by a long transaction, not by a
# burst of short ones.
SEQ_HELD_MS = 250
# The least lock_timeout a writer past the waiters is given (0 would mean no limit).
SEQ_LEAST_WAIT_MS = 1

_waiting_lock = threading.Lock()
_waiting_since: dict[tuple[str, str], list[float]] = {}


@contextmanager
def _waiting_for(using: str, channel: str) -> Iterator[int | None]:
    """
    Count this thread as waiting for the channel's row. Yields None while the waiters
    are not full, else the milliseconds this writer may wait (SEQ_HELD_MS after the
    oldest waiter began).
    """
    key = (using, channel)
    now = time.monotonic()
    with _waiting_lock:
        waiting = _waiting_since.setdefault(key, [])
        brief_ms = None
        if len(waiting) >= realtime_setting("SEQ_LOCK_WAITERS"):
            brief_ms = max(SEQ_LEAST_WAIT_MS, int(SEQ_HELD_MS - (now - min(waiting)) * 1000))
        waiting.append(now)
    try:
        yield brief_ms
    finally:
        with _waiting_lock:
            waiting.remove(now)
            if not waiting:
                del _waiting_since[key]


def take_next_seq(channel: str, using: str = DEFAULT_DB_ALIAS, count: int = 1) -> int:
    """
    Return the channel's next seq (the last of the next ``count``), locking its counter
    row until the caller's transaction ends. Call inside transaction.atomic(); outside one the lock would be
    released at once and the ordering guarantee lost. On PostgreSQL and SQLite this is
    one ``UPDATE … RETURNING`` (the UPDATE takes the row lock); elsewhere it is a
    SELECT … FOR UPDATE and an UPDATE.
    """
    connection = connections[using]
    if connection.vendor in ("postgresql", "sqlite"):
        table = connection.ops.quote_name(ChannelSequence._meta.db_table)
        update = f"UPDATE {table} SET last_seq = last_seq + %s WHERE channel = %s RETURNING last_seq"
        with _waiting_for(using, channel) as brief_ms, connection.cursor() as cursor:
            if connection.vendor != "postgresql":
                brief_ms = None  # SQLite's one writer has its whole database, not a row, to wait for
            if brief_ms is not None:
                cursor.execute(f"SET LOCAL lock_timeout = {int(brief_ms)}")
            cursor.execute(update, [count, channel])
            row = cursor.fetchone()
            if brief_ms is not None:
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
    counter.last_seq += count
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
