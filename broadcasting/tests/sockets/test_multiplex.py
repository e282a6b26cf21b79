"""
/ws/: many channels on one socket, each subscription with its own filter,
seq, epoch and resume; errors per subscription leave the socket open. Through the whole
ASGI application on the in-memory layer.
"""

import httpx
import pytest
from asgiref.sync import sync_to_async

from posts.models import Post
from testing.asgi_sockets import make_user_with_token, open_socket
from testing.sockets import Socket
from users.models import User

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.database]


async def subscribe(socket, channel: str, **fields) -> dict:
    await socket.send({"type": "subscribe", "channel": channel, **fields})
    return await socket.recv("subscribed")


async def test_one_socket_carries_two_channels_until_one_is_unsubscribed():
    staff, token = await sync_to_async(make_user_with_token)("staff@example.com", staff=True)
    socket = await open_socket("/ws/", token=token)
    assert (await socket.recv("connection"))["message"] == "Connected"
    posts = await subscribe(socket, "posts")
    users = await subscribe(socket, "users")
    assert (posts["channel"], users["channel"]) == ("posts", "users")

    await sync_to_async(Post.objects.create)(title="on posts", author=staff, published=True)
    created = await socket.recv("created")
    assert (created["channel"], created["seq"], created["data"]["title"]) == ("posts", posts["seq"] + 1, "on posts")
    await sync_to_async(User.objects.create_user)("new@example.com", "pw-1234567890", name="New")
    created = await socket.recv("created")
    assert (created["channel"], created["seq"]) == ("users", users["seq"] + 1)
    await socket.send({"type": "get_stats"})
    assert (await socket.recv("stats"))["data"]["channels"] == {"posts": 1, "users": 1}

    await socket.send({"type": "unsubscribe", "channel": "posts"})
    assert await socket.recv("unsubscribed") == {"type": "unsubscribed", "channel": "posts"}
    await sync_to_async(Post.objects.create)(title="not for us now", author=staff, published=True)
    await socket.assert_nothing()
    await socket.close()
    # Closed, its subscriptions left the fanout and the counts.
    other = await open_socket("/ws/")
    await other.recv("connection")
    await other.send({"type": "get_stats"})
    assert (await other.recv("stats"))["data"]["channels"] == {}
    await other.close()


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ({"channel": "nonexistent"}, "unknown_channel"),
        ({"channel": "users"}, "auth_required"),
        ({"channel": "posts", "filter": {"author": "999999"}}, "invalid_filter"),
        ({"channel": "posts", "filter": {"colour": "red"}}, "invalid_filter"),
        ({"channel": "posts", "filter": ["author", 3]}, "invalid_filter"),
        ({"channel": "posts", "since": -1}, "invalid_since"),
        ({"channel": "posts", "since": "12"}, "invalid_since"),
        ({"channel": "posts", "epoch": "no spaces allowed"}, "invalid_epoch"),
    ],
)
async def test_a_bad_subscription_gets_an_error_naming_its_channel_and_the_socket_lives(frame, code):
    socket = await open_socket("/ws/")
    await socket.recv("connection")
    await socket.send({"type": "subscribe", **frame})
    error = await socket.recv("error")
    assert (error["code"], error["channel"]) == (code, frame["channel"])
    await subscribe(socket, "posts")  # the socket is still good for others
    await socket.send({"type": "subscribe", "channel": "posts"})
    assert (await socket.recv("error"))["code"] == "bad_request"  # one subscription per channel
    await socket.send({"type": "ping"})
    await socket.recv("pong")
    await socket.close()


async def test_each_subscription_resumes_after_a_disconnect_with_nothing_lost():
    staff, token = await sync_to_async(make_user_with_token)("staff@example.com", staff=True)
    socket = await open_socket("/ws/", token=token)
    await socket.recv("connection")
    posts = await subscribe(socket, "posts", filter={"published": True})
    users = await subscribe(socket, "users")
    await socket.close()

    await sync_to_async(Post.objects.create)(title="draft", author=staff, published=False)
    await sync_to_async(Post.objects.create)(title="out", author=staff, published=True)
    await sync_to_async(User.objects.create_user)("late@example.com", "pw-1234567890", name="Late")

    socket = await open_socket("/ws/", token=token)
    await socket.recv("connection")
    await subscribe(socket, "posts", filter={"published": True}, since=posts["seq"], epoch=posts["epoch"])
    sync, created = await socket.recv("sync"), await socket.recv("created")
    assert (sync["seq"], created["seq"], created["data"]["title"]) == (posts["seq"] + 1, posts["seq"] + 2, "out")
    await subscribe(socket, "users", since=users["seq"], epoch=users["epoch"])
    joined = await socket.recv("created")
    assert (joined["channel"], joined["seq"], joined["data"]["name"]) == ("users", users["seq"] + 1, "Late")
    await socket.close()


async def test_a_subscription_from_another_history_gets_reset_and_the_rest_go_on():
    socket = await open_socket("/ws/")
    await socket.recv("connection")
    await subscribe(socket, "posts", since=0, epoch="someotherepoch")
    reset = await socket.recv("reset")
    assert reset["channel"] == "posts"
    await socket.send({"type": "ping"})
    await socket.recv("pong")
    await socket.close()


@pytest.mark.live_server
async def test_a_real_server_serves_both_channels_on_one_socket(live_stack):
    stack = live_stack()
    token = stack.create_user("staff@example.com", staff=True)
    server = stack.start_server(kind="serve")
    socket = await Socket.open(f"{server.ws_url}/ws/", token=token)
    await socket.recv("connection")
    for channel, wanted in (("posts", {"published": True}), ("users", {})):
        await socket.send({"type": "subscribe", "channel": channel, "filter": wanted})
        assert (await socket.recv("subscribed"))["channel"] == channel
    async with httpx.AsyncClient(base_url=server.http_url, headers={"Authorization": f"Token {token}"}) as api:
        await api.post("/api/posts/", json={"title": "a draft", "published": False})
        await api.post("/api/posts/", json={"title": "in the open", "published": True})
        await api.post("/api/users/", json={"email": "joiner@example.com", "name": "Joiner"})
    received = [await socket.recv() for _ in range(3)]
    assert [(frame["type"], frame["channel"]) for frame in received] == [
        ("sync", "posts"),
        ("created", "posts"),
        ("created", "users"),
    ]
    assert received[1]["data"]["title"] == "in the open"
    await socket.close()


async def test_hostile_subscribe_frames_get_short_errors_and_the_socket_lives():
    socket = await open_socket("/ws/")
    await socket.recv("connection")
    nested: dict = {}
    for _ in range(200):
        nested = {"a": nested}
    for channel in ("x" * 10_000, nested, ["posts"], None):
        await socket.send({"type": "subscribe", "channel": channel})
        error = await socket.recv("error")
        assert error["code"] == "unknown_channel" and len(error["message"]) < 100
        assert error["channel"] == (channel[:64] if isinstance(channel, str) else None)
    await socket.send({"type": "subscribe", "channel": "posts", "filter": {f"k{n}": "v" for n in range(1000)}})
    error = await socket.recv("error")
    assert error["code"] == "invalid_filter" and error["message"] == "At most 20 filter parameters."
    await socket.send({"type": "subscribe", "channel": "posts", "filter": {f"k{n}": "v" for n in range(20)}})
    error = await socket.recv("error")
    assert error["code"] == "invalid_filter" and "and 15 more" in error["message"]
    assert len(error["message"]) < 500
    await socket.send({"type": "unsubscribe", "channel": "y" * 10_000})
    assert (await socket.recv("error"))["channel"] == "y" * 64
    await socket.send({"type": "ping"})
    await socket.recv("pong")
    await socket.close()
