"""
Write-ceiling benchmark: how fast one channel takes writes on PostgreSQL, and what a
long transaction costs the other writers of its channel.

Every event takes the next seq of its channel by updating the channel's counter row,
which stays locked until the transaction commits: writers of one channel commit one
after another (that is what makes seqs gap-free and in commit order across processes).
This measures the price, with writer processes of their own (each its own connection):

- writes/s with 1, 4 and 16 concurrent writers, each write a ``Post.objects.create``
  in its own transaction, broadcasting on and off (``no_broadcast()``);
- a transaction that saves a post and then stays open 2 s: how long the other writers'
  writes take meanwhile (broadcasting on: they wait for its counter lock; off: not).

It creates a database of its own on the PostgreSQL server (TEST_POSTGRES_URL, default
postgres://postgres@127.0.0.1:5432/test) and drops it afterwards.

    .venv/bin/python bench/write_ceiling.py --writers 1 4 16 --secs 5
"""

import argparse
import json
import multiprocessing
import os
import statistics
import sys
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

from testing import services  # noqa: E402
from testing.live_server import create_postgres_database, drop_postgres_database  # noqa: E402


def setup_django(database_url: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "realtime_site.settings"
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz")
    os.environ["DATABASE_URL"] = database_url
    os.environ.pop("REDIS_URL", None)
    os.environ["DJANGO_LOG_LEVEL"] = "ERROR"
    import django

    django.setup()


def write_for(args: tuple) -> list[float]:
    """One writer process: create posts for ``secs``; return each write's latency."""
    database_url, author_pk, secs, broadcasting, start_at = args
    setup_django(database_url)
    import contextlib

    from django.db import transaction

    from broadcasting import no_broadcast
    from posts.models import Post

    latencies = []
    while time.time() < start_at:
        time.sleep(0.001)
    deadline = start_at + secs
    with contextlib.nullcontext() if broadcasting else no_broadcast():
        while time.time() < deadline:
            started = time.perf_counter()
            with transaction.atomic():
                Post.objects.create(title="w", author_id=author_pk, published=True)
            latencies.append(time.perf_counter() - started)
    return latencies


def hold_open(args: tuple) -> float:
    """Save a post, then keep the transaction open ``hold_secs``; return when it committed."""
    database_url, author_pk, hold_secs, broadcasting, start_at = args
    setup_django(database_url)
    import contextlib

    from django.db import transaction

    from broadcasting import no_broadcast
    from posts.models import Post

    while time.time() < start_at:
        time.sleep(0.001)
    with contextlib.nullcontext() if broadcasting else no_broadcast(), transaction.atomic():
        Post.objects.create(title="held", author_id=author_pk, published=True)
        time.sleep(hold_secs)
    return time.time()


def throughput(pool, database_url: str, author_pk: int, writers: int, secs: float, broadcasting: bool) -> dict:
    start_at = time.time() + 1.0
    results = pool.map(write_for, [(database_url, author_pk, secs, broadcasting, start_at)] * writers)
    latencies = sorted(latency for result in results for latency in result)
    return {
        "test": "throughput",
        "writers": writers,
        "broadcasting": broadcasting,
        "writes_per_sec": round(len(latencies) / secs, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 2),
    }


def held_transaction(pool, database_url: str, author_pk: int, writers: int, broadcasting: bool) -> dict:
    start_at = time.time() + 1.0
    holder = pool.apply_async(hold_open, [(database_url, author_pk, 2.0, broadcasting, start_at)])
    others = pool.map(write_for, [(database_url, author_pk, 3.0, broadcasting, start_at + 0.2)] * writers)
    holder.get()
    latencies = [latency for result in others for latency in result]
    return {
        "test": "transaction_held_2s",
        "other_writers": writers,
        "broadcasting": broadcasting,
        "others_longest_write_ms": round(max(latencies) * 1000, 1),
        "others_p50_ms": round(statistics.median(latencies) * 1000, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--writers", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--secs", type=float, default=5.0)
    args = parser.parse_args()
    admin_url = services.postgres_url()
    if not services.postgres_answers(admin_url):
        sys.exit(f"PostgreSQL is not answering at {admin_url}")
    database_url, name = create_postgres_database(admin_url)
    try:
        setup_django(database_url)
        from django.core.management import call_command
        from django.db import connections

        from broadcasting import no_broadcast
        from users.models import User

        call_command("migrate", verbosity=0)
        with no_broadcast():
            author_pk = User.objects.create_user("writer@example.com", None).pk
        connections.close_all()
        with multiprocessing.get_context("spawn").Pool(max(args.writers) + 1) as pool:
            for writers in args.writers:
                for broadcasting in (True, False):
                    print(json.dumps(throughput(pool, database_url, author_pk, writers, args.secs, broadcasting)))
            for broadcasting in (True, False):
                print(json.dumps(held_transaction(pool, database_url, author_pk, 4, broadcasting)))
    finally:
        from django.db import connections

        connections.close_all()
        drop_postgres_database(admin_url, name)


if __name__ == "__main__":
    main()
