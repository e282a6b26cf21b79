"""
Every write path of a registered model emits exactly the events it should, after
commit, in seq order; rolled-back work emits nothing.
"""

import json

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.contrib.auth.models import update_last_login
from django.db import transaction

from broadcasting import no_broadcast
from broadcasting.log.sequence import current_seq
from posts.models import Post
from users.models import User

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.database]


def make_author() -> User:
    with no_broadcast():
        return User.objects.create_user("author@example.com", name="Author")


async def test_create_sends_created_with_serializer_data(listen):
    author = await sync_to_async(make_author)()
    async with listen("posts") as events:
        post = await sync_to_async(Post.objects.create)(title="T", body="B", author=author, published=True)
        frame = await events.next_frame()
    assert frame["type"] == "created" and frame["channel"] == "posts" and frame["model"] == "posts"
    assert frame["data"]["id"] == post.pk and frame["data"]["title"] == "T"
    assert frame["data"]["author_name"] == "Author"


async def test_update_sends_updated_and_delete_sends_only_the_id(listen):
    author = await sync_to_async(make_author)()
    async with listen("posts") as events:
        post = await sync_to_async(Post.objects.create)(title="T", author=author, published=True)
        await events.next_frame()
        post.title = "T2"
        await sync_to_async(post.save)()
        updated = await events.next_frame()
        post_pk = post.pk
        await sync_to_async(post.delete)()
        deleted = await events.next_frame()
    assert updated["type"] == "updated" and updated["data"]["title"] == "T2"
    assert deleted["type"] == "deleted" and deleted["data"] == {"id": post_pk}
    assert deleted["seq"] == updated["seq"] + 1


async def test_nothing_is_sent_before_commit(listen):
    author = await sync_to_async(make_author)()
    async with listen("posts") as events:

        def write_and_look_before_commit() -> None:
            with transaction.atomic():
                Post.objects.create(title="pending", author=author, published=True)
                async_to_sync(events.assert_nothing)()

        await sync_to_async(write_and_look_before_commit)()
        assert (await events.next_frame())["data"]["title"] == "pending"


async def test_rolled_back_save_sends_nothing_and_gives_back_its_seq(listen):
    author = await sync_to_async(make_author)()
    seq_before = await sync_to_async(current_seq)("posts")

    def rolled_back_write() -> None:
        with pytest.raises(RuntimeError), transaction.atomic():
            Post.objects.create(title="never", author=author, published=True)
            raise RuntimeError("abort")

    async with listen("posts") as events:
        await sync_to_async(rolled_back_write)()
        await events.assert_nothing()
    assert await sync_to_async(current_seq)("posts") == seq_before


async def test_rolled_back_savepoint_sends_nothing_but_the_outer_change_sends(listen):
    author = await sync_to_async(make_author)()

    def outer_commits_inner_rolls_back() -> None:
        with transaction.atomic():
            Post.objects.create(title="kept", author=author, published=True)
            with pytest.raises(RuntimeError), transaction.atomic():
                Post.objects.create(title="dropped", author=author, published=True)
                raise RuntimeError("abort inner")

    async with listen("posts") as events:
        await sync_to_async(outer_commits_inner_rolls_back)()
        frame = await events.next_frame()
        await events.assert_nothing()
    assert frame["data"]["title"] == "kept"


async def test_several_saves_in_one_transaction_send_one_event_with_final_state(listen):
    author = await sync_to_async(make_author)()

    def save_three_times() -> None:
        with transaction.atomic():
            post = Post.objects.create(title="v1", author=author, published=True)
            post.title = "v2"
            post.save()
            post.title = "v3"
            post.save()

    async with listen("posts") as events:
        seq_before = await sync_to_async(current_seq)("posts")
        await sync_to_async(save_three_times)()
        frame = await events.next_frame()
        await events.assert_nothing()
    assert frame["type"] == "created" and frame["data"]["title"] == "v3"
    assert frame["seq"] == seq_before + 1


async def test_create_then_delete_in_one_transaction_shows_nothing_but_keeps_its_seq(listen):
    """Nobody ever saw the object, so no audience gets a frame; sockets get a sync for the seq."""
    author = await sync_to_async(make_author)()

    def create_and_delete() -> None:
        with transaction.atomic():
            post = Post.objects.create(title="brief", author=author, published=True)
            post.delete()

    async with listen("posts") as events:
        seq_before = await sync_to_async(current_seq)("posts")
        await sync_to_async(create_and_delete)()
        message = await events.next_message()
        await events.assert_nothing()
    assert message["seq"] == seq_before + 1 and message["renderings"] == {}


async def test_no_broadcast_commits_but_sends_nothing(listen):
    author = await sync_to_async(make_author)()

    def quiet_write() -> None:
        with no_broadcast():
            Post.objects.create(title="quiet", author=author, published=True)

    async with listen("posts") as events:
        await sync_to_async(quiet_write)()
        await events.assert_nothing()
    assert await sync_to_async(Post.objects.filter(title="quiet").exists)()


async def test_login_timestamp_update_sends_nothing(listen):
    user = await sync_to_async(make_author)()
    async with listen("users") as events:
        await sync_to_async(update_last_login)(None, user)
        await events.assert_nothing()


async def test_deleting_a_user_sends_the_cascaded_post_deletes(listen):
    author = await sync_to_async(make_author)()
    post = await sync_to_async(Post.objects.create)(title="owned", author=author, published=True)
    async with listen("posts") as posts_events, listen("users") as users_events:
        await sync_to_async(author.delete)()
        assert (await posts_events.next_frame())["data"] == {"id": post.pk}
        assert (await users_events.next_frame())["type"] == "deleted"


async def test_a_cascade_announces_each_deleted_object_once_in_order_with_consecutive_seqs(listen):
    """A cascade's deletes of one model take their seqs and history rows together (commit_queue.queue_deleted_batch)."""
    from broadcasting.log.history import events_page

    author = await sync_to_async(make_author)()

    def create_five() -> list[int]:
        return [Post.objects.create(title=f"p{i}", author=author, published=True).pk for i in range(5)]

    pks = await sync_to_async(create_five)()
    before = await sync_to_async(current_seq)("posts")
    async with listen("posts") as events:
        await sync_to_async(author.delete)()
        frames = [await events.next_frame() for _ in pks]
        await events.assert_nothing()
    assert sorted(frame["data"]["id"] for frame in frames) == sorted(pks)
    assert [frame["seq"] for frame in frames] == list(range(before + 1, before + 6))
    logged = await sync_to_async(events_page)("posts", before, before + 5, 10)
    assert logged is not None and [event.seq for event in logged] == list(range(before + 1, before + 6))


async def test_a_cascade_merges_into_an_earlier_change_of_the_same_transaction(listen):
    author = await sync_to_async(make_author)()

    def create_two() -> list[Post]:
        return [Post.objects.create(title=f"p{i}", author=author, published=True) for i in range(2)]

    posts = await sync_to_async(create_two)()
    before = await sync_to_async(current_seq)("posts")
    async with listen("posts") as events:

        def edit_then_delete_all() -> None:
            with transaction.atomic():
                posts[0].title = "edited first"
                posts[0].save()
                author.delete()

        await sync_to_async(edit_then_delete_all)()
        frames = [await events.next_frame(), await events.next_frame()]
        await events.assert_nothing()
    assert sorted((frame["type"], frame["data"]["id"]) for frame in frames) == sorted(
        ("deleted", post.pk) for post in posts
    )
    assert sorted(frame["seq"] for frame in frames) == [before + 1, before + 2]


async def test_a_rolled_back_cascade_sends_nothing(listen):
    author = await sync_to_async(make_author)()
    await sync_to_async(Post.objects.create)(title="stays", author=author, published=True)
    async with listen("posts") as events:

        def delete_and_roll_back() -> None:
            with transaction.atomic():
                author.delete()
                transaction.set_rollback(True)

        await sync_to_async(delete_and_roll_back)()
        await events.assert_nothing()
    assert await sync_to_async(Post.objects.filter(title="stays").exists)()


async def test_queryset_delete_sends_one_deleted_per_object(listen):
    author = await sync_to_async(make_author)()

    def create_two() -> list[int]:
        return [Post.objects.create(title=f"p{i}", author=author, published=True).pk for i in range(2)]

    pks = await sync_to_async(create_two)()
    async with listen("posts") as events:
        await sync_to_async(Post.objects.filter(pk__in=pks).delete)()
        frames = [await events.next_frame(), await events.next_frame()]
    assert sorted(frame["data"]["id"] for frame in frames) == sorted(pks)
    assert frames[1]["seq"] == frames[0]["seq"] + 1


async def test_seqs_count_per_channel(listen):
    def writes() -> None:
        user = User.objects.create_user("seq@example.com")
        Post.objects.create(title="a", author=user, published=True)
        Post.objects.create(title="b", author=user, published=True)

    async with listen("users") as users_events, listen("posts") as posts_events:
        users_seq = await sync_to_async(current_seq)("users")
        posts_seq = await sync_to_async(current_seq)("posts")
        await sync_to_async(writes)()
        assert (await users_events.next_frame())["seq"] == users_seq + 1
        assert [(await posts_events.next_frame())["seq"] for _ in range(2)] == [posts_seq + 1, posts_seq + 2]


def test_a_save_outside_a_transaction_commits_with_its_event_or_not_at_all(monkeypatch):
    """Autocommit saves (shell, scripts, views without ATOMIC_REQUESTS) run in one transaction with their event."""
    from broadcasting.log import history

    author = make_author()
    post = Post.objects.create(title="before", author=author, published=True)
    seq_before = current_seq("posts")

    def history_fails(event, using):
        raise RuntimeError("the process died here")

    monkeypatch.setattr(history, "record", history_fails)
    with pytest.raises(RuntimeError):
        Post.objects.create(title="never", author=author, published=True)
    post.title = "after"
    with pytest.raises(RuntimeError):
        post.save()
    assert not Post.objects.filter(title="never").exists()
    assert Post.objects.get(pk=post.pk).title == "before"
    assert current_seq("posts") == seq_before


@pytest.mark.live_server
def test_a_process_killed_between_row_and_event_leaves_neither(live_stack):
    """A real shell process dies (os._exit) after its row is written, before its history row: nothing is committed."""
    stack = live_stack()
    stack.create_user("author@example.com")
    stack.manage(
        "shell",
        "-c",
        "import os\n"
        "from broadcasting.log import history\n"
        "from posts.models import Post\n"
        "from users.models import User\n"
        "history.record = lambda event, using: os._exit(9)\n"
        "Post.objects.create(title='half-written', author=User.objects.get(email='author@example.com'))\n",
        check=False,
    )
    counts = stack.shell(
        "from posts.models import Post\n"
        "from broadcasting.log.sequence import current_seq\n"
        "print(Post.objects.filter(title='half-written').count(), current_seq('posts'))"
    )
    assert counts.strip().splitlines()[-1].split() == ["0", "0"]


def test_a_serializer_that_fails_fails_the_write_naming_it(monkeypatch):
    """Rendering failures are decided: the write fails with an error naming the serializer, and rolls back."""
    from broadcasting.wire.renderings import RenderingFailed
    from posts.serializers import PostSerializer

    author = make_author()

    def broken(self, post):
        raise KeyError("author_name")

    monkeypatch.setattr(PostSerializer, "get_author_name", broken)
    with pytest.raises(RenderingFailed, match=r"PostSerializer failed to render posts\.Post pk=\d+ for audience"):
        Post.objects.create(title="unrenderable", author=author, published=True)
    assert not Post.objects.filter(title="unrenderable").exists()


async def test_a_change_rolled_back_in_a_savepoint_is_never_sent_live(listen):
    """Saved, then changed again in a savepoint that rolls back: the layer never carries the rolled-back state."""
    from broadcasting.log import history

    author = await sync_to_async(make_author)()

    def change_then_roll_back() -> int:
        with transaction.atomic():
            post = Post.objects.create(title="committed", author=author, published=True)
            with pytest.raises(RuntimeError), transaction.atomic():
                post.title = "rolled back"
                post.save()
                raise RuntimeError("abort inner")
        return current_seq("posts")

    async with listen("posts") as events:
        seq = await sync_to_async(change_then_roll_back)()
        await events.assert_nothing(wait_secs=0.5)  # sockets get this seq from the history
    (stored,) = await sync_to_async(history.events_page)("posts", seq - 1, seq, 10)
    assert json.loads(stored.renderings["public"])["data"]["title"] == "committed"


async def test_a_change_in_a_released_savepoint_is_sent_with_the_final_state(listen):
    author = await sync_to_async(make_author)()

    def change_in_savepoint() -> None:
        with transaction.atomic():
            post = Post.objects.create(title="first", author=author, published=True)
            with transaction.atomic():
                post.title = "final"
                post.save()

    async with listen("posts") as events:
        await sync_to_async(change_in_savepoint)()
        frame = await events.next_frame()
        await events.assert_nothing()
    assert (frame["type"], frame["data"]["title"]) == ("created", "final")
