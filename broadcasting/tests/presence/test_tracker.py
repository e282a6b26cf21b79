"""
presence/tracker.py in one process, on the in-memory layer, through the whole ASGI application:
who is here (users once however many tabs, anonymous counted, never listed), join and
leave with their debounce, and each reader shown what REST would show them.
Across processes on Redis: test_presence_live.py.
"""

import asyncio

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.test import override_settings

from broadcasting.sockets.consumer import LiveSocketConsumer
from posts.models import Post
from testing.asgi_sockets import connected, make_user_with_token
from testing.frames import next_of, presence_of
from testing.wait import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.database]

LINGER_SECS = 0.3


@pytest.fixture(autouse=True)
def short_linger():
    with override_settings(REALTIME={**settings.REALTIME, "PRESENCE_LINGER_SECS": LINGER_SECS}):
        yield


async def lists(socket, user_ids: list[int]) -> bool:
    """Whether ``socket``'s presence answer lists exactly these users, in id order."""
    return [user["id"] for user in (await presence_of(socket))["users"]] == user_ids


async def test_users_are_listed_once_however_many_tabs_and_anonymous_only_counted():
    alice, alice_token = await sync_to_async(make_user_with_token)("alice@example.com")
    bob, bob_token = await sync_to_async(make_user_with_token)("bob@example.com")
    sockets = [
        await connected("/ws/posts", alice_token),
        await connected("/ws/posts", alice_token),
        await connected("/ws/posts", bob_token),
        await connected("/ws/posts"),
        await connected("/ws/posts"),
        await connected("/ws/users", alice_token),  # another channel: not here
    ]
    await wait_until(lambda: lists(sockets[3], [alice.pk, bob.pk]))
    data = await presence_of(sockets[3])
    assert [user["id"] for user in data["users"]] == [alice.pk, bob.pk]
    assert (data["user_count"], data["anonymous"]) == (2, 2)
    for socket in sockets:
        await socket.close()


async def test_first_socket_joins_and_last_one_leaves_after_the_linger():
    alice, alice_token = await sync_to_async(make_user_with_token)("alice@example.com")
    watcher = await connected("/ws/posts")
    assert await presence_of(watcher) == {"users": [], "user_count": 0, "anonymous": 1}
    first = await connected("/ws/posts", alice_token)
    join = await watcher.recv("join")
    assert join["channel"] == "posts" and join["data"]["user"]["id"] == alice.pk
    assert "seq" not in join
    second = await connected("/ws/posts", alice_token)  # a second tab: no join
    await first.close()  # one tab left: no leave
    await watcher.assert_nothing()
    await second.close()
    leave = await watcher.recv("leave")
    assert leave == {"type": "leave", "channel": "posts", "data": {"user": {"id": alice.pk}}}
    assert (await presence_of(watcher))["users"] == []
    await watcher.close()


async def test_only_sockets_that_asked_get_joins_and_leaves():
    _, alice_token = await sync_to_async(make_user_with_token)("alice@example.com")
    watcher, bystander = await connected("/ws/posts"), await connected("/ws/posts")
    await presence_of(watcher)
    alice = await connected("/ws/posts", alice_token)
    await alice.close()
    await watcher.recv("join")
    await watcher.recv("leave")
    await bystander.assert_nothing()
    await watcher.close()
    await bystander.close()


async def test_a_reconnect_within_the_linger_sends_neither_leave_nor_join():
    alice, alice_token = await sync_to_async(make_user_with_token)("alice@example.com")
    watcher = await connected("/ws/posts")
    await presence_of(watcher)
    socket = await connected("/ws/posts", alice_token)
    await watcher.recv("join")
    await socket.close()
    socket = await connected("/ws/posts", alice_token)  # a reload
    await asyncio.sleep(LINGER_SECS * 2)
    await watcher.assert_nothing()
    assert [user["id"] for user in (await presence_of(watcher))["users"]] == [alice.pk]
    await socket.close()
    await watcher.recv("leave")
    await watcher.close()


async def test_each_reader_sees_users_as_rest_shows_them():
    staff, staff_token = await sync_to_async(make_user_with_token)("staff@example.com", staff=True)
    alice, alice_token = await sync_to_async(make_user_with_token)("alice@example.com")
    on_staff = await connected("/ws/posts", staff_token)
    on_alice = await connected("/ws/posts", alice_token)
    anonymous = await connected("/ws/posts")
    await wait_until(lambda: lists(anonymous, sorted([staff.pk, alice.pk])))
    shown = {}
    for name, socket in (("staff", on_staff), ("alice", on_alice), ("anonymous", anonymous)):
        shown[name] = {user["id"]: user for user in (await presence_of(socket))["users"]}
    assert shown["staff"][alice.pk]["email"] == "alice@example.com"
    assert shown["staff"][staff.pk]["email"] == "staff@example.com"
    assert shown["alice"][alice.pk]["email"] == "alice@example.com"  # herself
    assert "email" not in shown["alice"][staff.pk] and shown["alice"][staff.pk]["name"] == "staff"
    # The users channel needs sign-in: an anonymous reader learns ids, nothing more.
    assert shown["anonymous"] == {staff.pk: {"id": staff.pk}, alice.pk: {"id": alice.pk}}
    for socket in (on_staff, on_alice, anonymous):
        await socket.close()


async def join_of(socket, user_pk: int) -> dict:
    """The user of the next join of ``user_pk`` (bob's own join may reach a reader after its presence answer)."""
    while (user := (await socket.recv("join"))["data"]["user"])["id"] != user_pk:
        pass
    return user


async def test_join_frames_are_rendered_per_reader():
    _, staff_token = await sync_to_async(make_user_with_token)("staff@example.com", staff=True)
    _, bob_token = await sync_to_async(make_user_with_token)("bob@example.com")
    on_staff = await connected("/ws/posts", staff_token)
    on_bob = await connected("/ws/posts", bob_token)
    anonymous = await connected("/ws/posts")
    for socket in (on_staff, on_bob, anonymous):
        await presence_of(socket)
    alice, alice_token = await sync_to_async(make_user_with_token)("alice@example.com")
    alice_socket = await connected("/ws/posts", alice_token)
    assert (await join_of(on_staff, alice.pk))["email"] == "alice@example.com"
    seen_by_bob = await join_of(on_bob, alice.pk)
    assert (seen_by_bob["id"], seen_by_bob["name"], "email" in seen_by_bob) == (alice.pk, "alice", False)
    assert await join_of(anonymous, alice.pk) == {"id": alice.pk}
    for socket in (on_staff, on_bob, anonymous, alice_socket):
        await socket.close()


async def test_filtered_and_one_object_sockets_count_on_their_channel():
    alice, alice_token = await sync_to_async(make_user_with_token)("alice@example.com")
    bob, bob_token = await sync_to_async(make_user_with_token)("bob@example.com")
    post = await sync_to_async(Post.objects.create)(title="one", author=alice, published=True)
    filtered = await connected(f"/ws/posts?author={alice.pk}", alice_token)
    one_object = await connected(f"/ws/posts/{post.pk}", bob_token)
    await wait_until(lambda: lists(one_object, [alice.pk, bob.pk]), message="both users listed")
    await filtered.close()
    await one_object.close()


async def test_on_ws_get_presence_names_a_subscribed_channel():
    alice, alice_token = await sync_to_async(make_user_with_token)("alice@example.com")
    socket = await connected("/ws/", alice_token)
    await socket.send({"type": "subscribe", "channel": "posts", "filter": {"published": True}})
    await socket.recv("subscribed")
    await socket.send({"type": "get_presence", "channel": "posts"})
    frame = await next_of(socket, "presence")
    assert frame["channel"] == "posts" and [user["id"] for user in frame["data"]["users"]] == [alice.pk]
    for bad in ("users", None, "x" * 10_000, {"nested": ["posts"]}):
        await socket.send({"type": "get_presence", "channel": bad})
        error = await next_of(socket, "error")
        assert error["code"] == "bad_request"
        assert error["channel"] == (bad[:64] if isinstance(bad, str) else None)
    await socket.send({"type": "unsubscribe", "channel": "posts"})
    await next_of(socket, "unsubscribed")
    other = await connected("/ws/posts")
    assert [user["id"] for user in (await presence_of(other))["users"]] == [alice.pk]  # lingering
    assert (await other.recv("leave"))["data"]["user"]["id"] == alice.pk  # the subscription ended
    assert (await presence_of(other))["users"] == []
    await socket.close()
    await other.close()


async def test_the_list_is_capped_and_the_count_is_whole():
    tokens = [(await sync_to_async(make_user_with_token)(f"user{n}@example.com"))[1] for n in range(4)]
    with override_settings(REALTIME={**settings.REALTIME, "PRESENCE_MAX_LISTED_USERS": 2}):
        sockets = [await connected("/ws/posts", token) for token in tokens]

        async def all_counted() -> bool:
            return (await presence_of(sockets[0]))["user_count"] == 4

        await wait_until(all_counted)
        data = await presence_of(sockets[0])
    assert (len(data["users"]), data["user_count"]) == (2, 4)
    for socket in sockets:
        await socket.close()


async def test_presence_off_refuses_get_presence_and_sends_no_join():
    _, token = await sync_to_async(make_user_with_token)("alice@example.com")
    with override_settings(REALTIME={**settings.REALTIME, "PRESENCE": False}):
        watcher = await connected("/ws/posts")
        alice = await connected("/ws/posts", token)
        await watcher.assert_nothing()
        await watcher.send({"type": "get_presence"})
        assert (await watcher.recv("error"))["code"] == "bad_request"
        await watcher.send({"type": "get_stats"})
        assert (await watcher.recv("stats"))["data"]["total_connections"] == 2  # counting goes on
        await alice.close()
        await watcher.close()


@pytest.mark.parametrize("ending", ["flooded", "deactivated", "crashed"])
async def test_whatever_ends_a_users_last_socket_they_leave(ending, monkeypatch):
    alice, alice_token = await sync_to_async(make_user_with_token)("alice@example.com")
    watcher = await connected("/ws/posts")
    await presence_of(watcher)
    realtime = {**settings.REALTIME, "PRESENCE_LINGER_SECS": LINGER_SECS, "SEQ_CHECK_INTERVAL_SECS": 0.1}
    if ending == "flooded":
        realtime.update(CLIENT_FRAMES_PER_SEC=0.001, CLIENT_FRAME_BURST=1)
    with override_settings(REALTIME=realtime):
        socket = await connected("/ws/posts", alice_token)
        assert (await next_of(watcher, "join"))["data"]["user"]["id"] == alice.pk
        if ending == "flooded":
            for _ in range(5):
                await socket.send({"type": "ping"})  # closed 4429
        elif ending == "deactivated":
            await sync_to_async(type(alice).objects.filter(pk=alice.pk).update)(is_active=False)  # closed 4401
        else:

            async def crash(self, content):
                raise RuntimeError("a bug in a handler")

            monkeypatch.setattr(LiveSocketConsumer, "client_ping", crash)
            await socket.send({"type": "ping"})
        leave = await next_of(watcher, "leave")
    assert leave["data"]["user"] == {"id": alice.pk}
    assert (await presence_of(watcher))["users"] == []
    await watcher.close()
