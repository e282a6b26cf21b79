"""
How long a cascade delete holds its channel's seq row: staff delete a user with N posts,
and every post's event takes a seq in that one transaction, so the posts channel's row
is locked from the first post's event to the commit, and other writers of posts wait.

Runs in this process against a fresh PostgreSQL database (TEST_POSTGRES_URL, or the
local `test` database's server), and prints one JSON line per round: the delete's total
time, how long the row was held (first seq taken → commit), and the share of it spent
in each step of an event (from cProfile, top functions by cumulative time).

    .venv/bin/python bench/seq_row_hold.py --posts 3000 --rounds 3
"""

import argparse
import cProfile
import json
import os
import pstats
import sys
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="print the top of a cProfile of one delete")
    args = parser.parse_args()

    from testing import services
    from testing.live_server import create_postgres_database, drop_postgres_database

    admin_url = services.postgres_url()
    url, name = create_postgres_database(admin_url)
    os.environ.update(
        {
            "DATABASE_URL": url,
            "DJANGO_SETTINGS_MODULE": "realtime_site.settings",
            "DJANGO_SECRET_KEY": "bench",
            "DJANGO_LOG_LEVEL": "WARNING",
        }
    )
    try:
        run(args)
    finally:
        from django.db import connections

        connections.close_all()
        drop_postgres_database(admin_url, name)


def run(args: argparse.Namespace) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import transaction

    from broadcasting.log import sequence
    from posts.models import Post
    from users.models import User

    call_command("migrate", verbosity=0)
    first_take: list[float] = []
    take_next_seq = sequence.take_next_seq

    def timed_take(channel: str, using: str = "default", count: int = 1) -> int:
        if channel == "posts" and not first_take:
            first_take.append(time.perf_counter())
        return take_next_seq(channel, using, count)

    sequence.take_next_seq = timed_take  # type: ignore[assignment]
    import broadcasting.publish.commit_queue as commit_queue

    commit_queue.take_next_seq = timed_take  # type: ignore[assignment]

    for number in range(args.rounds):
        author = User.objects.create_user(f"author{number}@example.com", "pw", name=f"Author {number}")
        Post.objects.bulk_create(
            Post(author=author, title=f"post {n}", body="x" * 200, published=True) for n in range(args.posts)
        )
        first_take.clear()
        profiler = cProfile.Profile() if args.profile and number == 0 else None
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        with transaction.atomic():
            author.delete()
        committed = time.perf_counter()
        if profiler:
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
        print(
            json.dumps(
                {
                    "posts": args.posts,
                    "delete_secs": round(committed - started, 3),
                    "row_held_secs": round(committed - first_take[0], 3) if first_take else None,
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
