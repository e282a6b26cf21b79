"""delivery/replay_pages.py: feeds asking for the same stretch of history together cause one read."""

import asyncio

import pytest
from asgiref.sync import sync_to_async

from broadcasting.delivery import replay_pages as replay_pages_module
from broadcasting.delivery.replay_pages import ReplayPages
from posts.models import Post
from users.models import User

pytestmark = pytest.mark.django_db(transaction=True)


async def test_feeds_asking_together_share_one_read_and_a_different_stretch_reads_again(monkeypatch):
    author = await sync_to_async(User.objects.create_user)("author@example.com", "x")
    for number in range(5):
        await sync_to_async(Post.objects.create)(title=f"p{number}", author=author, published=True)
    reads = []
    real = replay_pages_module.history.events_page

    def counting(*args):
        reads.append(args[:3])
        return real(*args)

    monkeypatch.setattr(replay_pages_module.history, "events_page", counting)
    pages = ReplayPages(asyncio.get_running_loop())
    together = await asyncio.gather(*(pages.page("posts", 2, 5, 50) for _ in range(20)))
    assert reads == [("posts", 2, 5)]
    assert all([event.seq for event in page] == [3, 4, 5] for page in together)
    assert together[0][0] is together[1][0]  # one event object, as the live fan-out shares one
    await pages.page("posts", 2, 5, 50)  # still kept a moment after
    await pages.page("posts", 3, 5, 50)
    assert reads == [("posts", 2, 5), ("posts", 3, 5)]


async def test_a_failed_read_is_not_kept(monkeypatch):
    calls = []

    def failing(*args):
        calls.append(args)
        raise RuntimeError("database away")

    monkeypatch.setattr(replay_pages_module.history, "events_page", failing)
    pages = ReplayPages(asyncio.get_running_loop())
    for _ in range(2):
        with pytest.raises(RuntimeError):
            await pages.page("posts", 0, 3, 50)
    assert len(calls) == 2
