"""
The price of an update's event: milliseconds per live save of a post and of a user, in
process on SQLite, 300 saves a round, five rounds, medians. Since updates compare each
audience's rendering with the stored object's (nothing-visible updates send a sync),
compare against a checkout of an earlier commit, run alternately:

    .venv/bin/python bench/update_price.py                  # this checkout
    .venv/bin/python bench/update_price.py /path/to/other   # another checkout, same venv
"""

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROUNDS = 5
SAVES_PER_ROUND = 300


def main() -> None:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent)
    sys.path.insert(0, str(root))
    os.chdir(root)
    database = Path(tempfile.mkdtemp()) / "db.sqlite3"
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "realtime_site.settings",
            "DJANGO_SECRET_KEY": "bench",
            "DATABASE_URL": f"sqlite:///{database}",
            "DJANGO_LOG_LEVEL": "WARNING",
        }
    )
    import django

    django.setup()
    from django.core.management import call_command

    from posts.models import Post
    from users.models import User

    call_command("migrate", verbosity=0)
    author = User.objects.create_user("author@example.com", "pw", name="Author")
    post = Post.objects.create(title="t", body="b" * 200, author=author, published=True)
    rounds = []
    for number in range(ROUNDS):
        started = time.perf_counter()
        for save in range(SAVES_PER_ROUND):
            post.title = f"t{number}-{save}"
            post.save()
        post_ms = (time.perf_counter() - started) / SAVES_PER_ROUND * 1000
        started = time.perf_counter()
        for save in range(SAVES_PER_ROUND):
            author.name = f"a{number}-{save}"
            author.save()
        rounds.append((post_ms, (time.perf_counter() - started) / SAVES_PER_ROUND * 1000))
    print(
        f"{root}: post save {statistics.median(p for p, _ in rounds):.2f} ms, "
        f"user save {statistics.median(u for _, u in rounds):.2f} ms (medians of {ROUNDS} rounds)"
    )


if __name__ == "__main__":
    main()
