"""
Bulk-write benchmark: is publishing linear in the number of objects a write changes?

For each size N it creates N posts (with broadcasting off), then times, with
broadcasting on, ``Post.objects.bulk_update(posts, ["title"])``, ``.update(...)`` on
the same N rows, and N ``save()`` calls in one transaction. It prints the time per
object; the write-path issue asks that 10,000 objects take at most 10x the time of
1,000 (flat per-object cost). The same writes with broadcasting off (no_broadcast())
follow, for the price of publishing. It runs in this process on the settings' database
(DATABASE_URL: a fresh temporary SQLite file unless it is set) and the in-memory
layer, with no sockets: what is measured is the writer's side only. A warm-up write
first fills the event history to REALTIME_HISTORY_MAX_EVENTS, so every measured size
also pays the history's pruning (100 rows every 100 events), as a long-running site does.

    .venv/bin/python bench/bulk_writes.py --sizes 1000 10000
"""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "realtime_site.settings")
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{Path(tempfile.mkdtemp(prefix='bench-bulk-')) / 'db.sqlite3'}")
    os.environ.pop("REDIS_URL", None)
    os.environ["DJANGO_LOG_LEVEL"] = "ERROR"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def measure(size: int, broadcasting: bool = True) -> dict:
    import contextlib

    from django.db import transaction

    from broadcasting import no_broadcast
    from posts.models import Post
    from users.models import User

    with no_broadcast():
        author = User.objects.create_user(f"bulk-{size}-{time.time_ns()}@example.com", None)
        posts = Post.objects.bulk_create(Post(title=f"p{n}", author=author, published=True) for n in range(size))
    results = {"size": size, "broadcasting": broadcasting}
    quiet = contextlib.nullcontext() if broadcasting else no_broadcast()

    for post in posts:
        post.title = f"{post.title}!"
    with quiet:
        started = time.perf_counter()
        Post.objects.bulk_update(posts, ["title"], batch_size=500)
        results["bulk_update_secs"] = time.perf_counter() - started

        started = time.perf_counter()
        Post.objects.filter(pk__in=[post.pk for post in posts]).update(published=False)
        results["update_secs"] = time.perf_counter() - started

        started = time.perf_counter()
        with transaction.atomic():
            for post in posts:
                post.title = f"{post.title}?"
                post.save()
        results["saves_in_one_transaction_secs"] = time.perf_counter() - started

    for name in ("bulk_update", "update", "saves_in_one_transaction"):
        results[f"{name}_us_per_object"] = round(results[f"{name}_secs"] * 1e6 / size, 1)
        results[f"{name}_secs"] = round(results[f"{name}_secs"], 3)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument(
        "--warm-up",
        type=int,
        default=10000,
        help="objects written first, unmeasured: fills the history to its limit, so every size pays pruning alike",
    )
    args = parser.parse_args()
    setup_django()
    if args.warm_up:
        measure(args.warm_up)
    rows = [measure(size) for size in args.sizes]
    for row in [*rows, *(measure(size, broadcasting=False) for size in args.sizes)]:
        print(json.dumps(row))
    if len(rows) >= 2:
        small, large = rows[0], rows[-1]
        scale = large["size"] / small["size"]
        for name in ("bulk_update", "update", "saves_in_one_transaction"):
            ratio = large[f"{name}_secs"] / small[f"{name}_secs"]
            print(
                f"{name}: {large['size']} objects took {ratio:.1f}x the time of {small['size']} (linear: {scale:.0f}x)"
            )


if __name__ == "__main__":
    main()
