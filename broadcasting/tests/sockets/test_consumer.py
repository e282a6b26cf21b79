"""
The socket end, through the whole ASGI application (origin check, auth, routing)
with Channels' WebsocketCommunicator and the real in-memory layer.
"""

import json

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client, override_settings
from rest_framework.test import APIClient

from broadcasting import metrics, no_broadcast
from broadcasting.delivery.fanout import process_fanout
from broadcasting.log import history
from broadcasting.log.sequence import current_seq
from broadcasting.presence.counts import socket_counts
from broadcasting.sockets.consumer import LiveSocketConsumer
from posts.models import Post
from realtime_site.asgi import application
from testing.asgi_sockets import make_user_with_token, open_socket, refused_with
from testing.wait import wait_until
from users.models import User

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.database]


async def test_connection_frame_has_generated_client_id_and_current_seq():
    await sync_to_async(make_user_with_token)("someone@example.com")
    socket = await open_socket("/ws/posts")
    frame = await socket.recv("connection")
    assert frame["channel"] == "posts" and len(frame["client_id"]) == 36
    assert frame["seq"] == await sync_to_async(current_seq)("posts")
    await socket.close()


async def test_client_id_from_query_and_trailing_slash_route():
    socket = await open_socket("/ws/posts/?client_id=my-unique-id")
    assert (await socket.recv("connection"))["client_id"] == "my-unique-id"
    await socket.close()


@pytest.mark.parametrize("query", ["client_id=bad!id", "client_id=" + "x" * 65, "client_id="])
async def test_malformed_client_id_is_refused_with_4400(query):
    await refused_with(f"/ws/posts?{query}", 4400, "invalid_client_id")


@pytest.mark.parametrize("since", ["-1", "abc", "1.5", "٣"])
async def test_malformed_since_is_refused_with_4400(since):
    await refused_with(f"/ws/posts?since={since}", 4400, "invalid_since")


async def test_unknown_channel_is_refused_with_4404():
    await refused_with("/ws/nonexistent", 4404, "unknown_channel")


async def test_users_channel_refuses_anonymous_with_4401():
    await refused_with("/ws/users", 4401, "auth_required")


async def test_invalid_token_is_refused_with_4401():
    await refused_with("/ws/posts", 4401, "auth_failed", token="not-a-real-token")


async def test_token_header_authenticates_on_users_channel():
    _, token = await sync_to_async(make_user_with_token)("tokenuser@example.com")
    socket = await open_socket("/ws/users", token=token)
    await socket.recv("connection")
    await socket.close()


async def test_session_cookie_authenticates_on_users_channel():
    user, _ = await sync_to_async(make_user_with_token)("cookie@example.com")
    client = Client()
    await sync_to_async(client.force_login)(user)
    socket = await open_socket("/ws/users", cookie=f"sessionid={client.cookies['sessionid'].value}")
    await socket.recv("connection")
    await socket.close()


async def test_foreign_origin_is_refused_at_the_handshake():
    communicator = WebsocketCommunicator(application, "/ws/posts", headers=[(b"origin", b"http://evil.example")])
    connected, _ = await communicator.connect()
    assert not connected


async def test_ping_gets_pong_and_get_stats_counts_sockets():
    first = await open_socket("/ws/posts")
    second = await open_socket("/ws/posts")
    await first.recv("connection")
    await second.recv("connection")
    await first.send({"type": "ping"})
    assert await first.recv("pong") == {"type": "pong", "message": "pong"}
    await first.send({"type": "get_stats"})
    stats = (await first.recv("stats"))["data"]
    assert stats["channels"]["posts"] == 2
    await second.close()
    await first.send({"type": "get_stats"})
    assert (await first.recv("stats"))["data"]["channels"]["posts"] == 1
    await first.close()


@pytest.mark.parametrize(
    ("raw", "error_code"),
    [
        ({"text_data": "not json"}, "bad_json"),
        ({"bytes_data": b"\x00\x01"}, "bad_request"),
        ({"text_data": "[1, 2]"}, "bad_request"),
        ({"text_data": '{"no_type": 1}'}, "bad_request"),
        ({"text_data": '{"type": "dance"}'}, "unknown_type"),
        ({"text_data": "[" * 10_000 + "]" * 10_000}, "bad_json"),  # RecursionError in json.loads
        ({"text_data": '{"type": "ping", "x": ' + "[" * 10_000 + "]" * 10_000 + "}"}, "bad_json"),
    ],
)
async def test_malformed_frames_get_an_error_and_the_socket_lives(raw, error_code):
    socket = await open_socket("/ws/posts")
    await socket.recv("connection")
    await socket.communicator.send_to(**raw)
    assert (await socket.recv("error"))["code"] == error_code
    await socket.send({"type": "ping"})
    await socket.recv("pong")
    await socket.close()


@pytest.mark.parametrize(
    "raw", [{"text_data": "x" * 70_000}, {"text_data": "é" * 40_000}, {"bytes_data": b"x" * 70_000}]
)
async def test_a_client_frame_over_the_limit_closes_1009_unparsed(raw):
    """What a server that lets such a frame through (uvicorn's own 16 MiB default) hands the consumer."""
    socket = await open_socket("/ws/posts")
    await socket.recv("connection")
    await socket.communicator.send_to(**raw)
    assert await socket.communicator.receive_output(timeout=3) == {"type": "websocket.close", "code": 1009}


async def test_user_events_hide_email_from_other_non_staff_users():
    _, staff_token = await sync_to_async(make_user_with_token)("staff@example.com", staff=True)
    _, reader_token = await sync_to_async(make_user_with_token)("reader@example.com")
    staff_socket = await open_socket("/ws/users", token=staff_token)
    reader_socket = await open_socket("/ws/users", token=reader_token)
    await staff_socket.recv("connection")
    await reader_socket.recv("connection")

    await sync_to_async(User.objects.create_user)("new@example.com", name="New")
    assert (await staff_socket.recv("created"))["data"]["email"] == "new@example.com"
    reader_view = (await reader_socket.recv("created"))["data"]
    assert set(reader_view) == {"id", "name", "is_active", "created_at"}
    await staff_socket.close()
    await reader_socket.close()


async def test_user_sees_own_email_live():
    user, token = await sync_to_async(make_user_with_token)("me@example.com")
    socket = await open_socket("/ws/users", token=token)
    await socket.recv("connection")
    user.name = "Renamed"
    await sync_to_async(user.save)()
    assert (await socket.recv("updated"))["data"]["email"] == "me@example.com"
    await socket.close()


async def test_draft_posts_reach_author_and_staff_but_not_others():
    author, author_token = await sync_to_async(make_user_with_token)("author@example.com")
    _, staff_token = await sync_to_async(make_user_with_token)("staff@example.com", staff=True)
    _, other_token = await sync_to_async(make_user_with_token)("other@example.com")
    sockets = {
        "author": await open_socket("/ws/posts", token=author_token),
        "staff": await open_socket("/ws/posts", token=staff_token),
        "other": await open_socket("/ws/posts", token=other_token),
        "anonymous": await open_socket("/ws/posts"),
    }
    for socket in sockets.values():
        await socket.recv("connection")

    post = await sync_to_async(Post.objects.create)(title="secret draft", author=author)
    created = await sockets["author"].recv("created")
    assert created["data"]["title"] == "secret draft"
    assert (await sockets["staff"].recv("created"))["data"]["title"] == "secret draft"
    # The others learn only that the channel moved on, so their seqs do not jump.
    for name in ("other", "anonymous"):
        assert await sockets[name].recv("sync") == {"type": "sync", "channel": "posts", "seq": created["seq"]}

    # Publishing brings it into everyone's view; unpublishing takes it out again.
    post.published = True
    await sync_to_async(post.save)()
    for name in ("other", "anonymous"):
        assert (await sockets[name].recv("created"))["data"]["id"] == post.pk
    assert (await sockets["author"].recv("updated"))["data"]["published"] is True
    await sockets["staff"].recv("updated")
    post.published = False
    await sync_to_async(post.save)()
    assert (await sockets["anonymous"].recv("deleted"))["data"] == {"id": post.pk}
    assert (await sockets["staff"].recv("updated"))["data"]["published"] is False
    for socket in sockets.values():
        await socket.close()


async def test_rest_write_with_client_id_skips_that_client_only():
    _, token = await sync_to_async(make_user_with_token)("writer@example.com")
    writer = await open_socket("/ws/posts?client_id=writer-tab", token=token)
    watcher = await open_socket("/ws/posts?client_id=watcher-tab")
    await writer.recv("connection")
    await watcher.recv("connection")

    def write_over_rest() -> int:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        response = client.post(
            "/api/posts/",
            {"title": "from tab", "published": True},
            format="json",
            HTTP_X_CLIENT_ID="writer-tab",
        )
        assert response.status_code == 201
        return response.json()["id"]

    post_id = await sync_to_async(write_over_rest)()
    created = await watcher.recv("created")
    assert created["data"]["id"] == post_id
    # The writer gets no copy of its own write, only the seq it covers.
    assert (await writer.recv("sync"))["seq"] == created["seq"]
    await writer.close()
    await watcher.close()


async def test_event_frames_are_sent_as_single_json_text_frames():
    socket = await open_socket("/ws/posts")
    await socket.recv("connection")

    def write() -> None:
        Post.objects.create(title="t", author=User.objects.create_user("a@example.com"), published=True)

    await sync_to_async(write)()
    output = await socket.communicator.receive_output(timeout=3)
    assert output["type"] == "websocket.send" and json.loads(output["text"])["type"] == "created"
    await socket.close()


@override_settings(REALTIME={"CLIENT_FRAMES_PER_SEC": 1.0, "CLIENT_FRAME_BURST": 5})
async def test_a_client_sending_too_fast_is_told_and_closed_with_4429():
    socket = await open_socket("/ws/posts")
    await socket.recv("connection")
    for _ in range(5):
        await socket.send({"type": "ping"})
        await socket.recv("pong")
    await socket.send({"type": "ping"})
    assert (await socket.recv("error"))["code"] == "rate_limited"
    assert await socket.communicator.receive_output(timeout=3) == {"type": "websocket.close", "code": 4429}


@override_settings(REALTIME={"SEQ_CHECK_INTERVAL_SECS": 0.1})
async def test_a_deactivated_users_open_socket_is_closed_with_4401():
    user, token = await sync_to_async(make_user_with_token)("leaving@example.com")
    socket = await open_socket("/ws/users", token=token)
    await socket.recv("connection")
    await sync_to_async(User.objects.filter(pk=user.pk).update)(is_active=False)
    frame = await socket.recv()
    while frame["type"] != "error":  # the deactivation's own event may come first
        frame = await socket.recv()
    assert frame["code"] == "auth_failed"
    assert await socket.communicator.receive_output(timeout=3) == {"type": "websocket.close", "code": 4401}


@override_settings(REALTIME={"SEQ_CHECK_INTERVAL_SECS": 0.1})
async def test_a_demoted_staff_socket_stops_seeing_staff_fields():
    staff, token = await sync_to_async(make_user_with_token)("demoted@example.com", staff=True)
    socket = await open_socket("/ws/users", token=token)
    await socket.recv("connection")
    with no_broadcast():
        await sync_to_async(User.objects.filter(pk=staff.pk).update)(is_staff=False)
    created = iter(range(100))

    async def rendered_publicly() -> bool:
        await sync_to_async(User.objects.create_user)(f"someone{next(created)}@example.com", name="Someone")
        return set((await socket.recv("created"))["data"]) == {"id", "name", "is_active", "created_at"}

    await wait_until(rendered_publicly, timeout=5, message="the demoted socket still sees staff fields")
    await socket.close()


async def test_frames_sent_after_a_4429_close_get_nothing_and_leave_no_socket_behind():
    with override_settings(REALTIME={"CLIENT_FRAMES_PER_SEC": 0.001, "CLIENT_FRAME_BURST": 1}):
        socket = await open_socket("/ws/posts")
        await socket.recv("connection")
        for _ in range(5):
            await socket.send({"type": "ping"})
        assert (await socket.recv("pong"))["type"] == "pong"
        assert (await socket.recv("error"))["code"] == "rate_limited"
        assert await socket.communicator.receive_output(timeout=3) == {"type": "websocket.close", "code": 4429}
        assert await socket.communicator.receive_nothing(timeout=0.3)
        assert process_fanout.socket_counts() == {}
        assert (await socket_counts.stats())["total_connections"] == 0
        await socket.close()


async def test_a_consumer_that_crashes_leaves_no_ghost_in_fanout_stats_or_metrics(monkeypatch):
    async def crash(self, content):
        raise RuntimeError("a bug in a handler")

    sockets_before = metrics.sockets_open.labels("posts")._value.get()
    monkeypatch.setattr(LiveSocketConsumer, "client_ping", crash)
    socket = await open_socket("/ws/posts")
    await socket.recv("connection")
    assert process_fanout.socket_counts() == {"posts": 1}
    await socket.send({"type": "ping"})
    with pytest.raises(RuntimeError, match="a bug in a handler"):
        await socket.communicator.receive_output(timeout=3)
    assert process_fanout.socket_counts() == {}
    assert (await socket_counts.stats())["total_connections"] == 0
    assert metrics.sockets_open.labels("posts")._value.get() == sockets_before


def write_post(title: str, body: str = "", published: bool = True) -> Post:
    author, _ = User.objects.get_or_create(email="author@example.com", defaults={"name": "author"})
    return Post.objects.create(title=title, body=body, author=author, published=published)


@override_settings(REALTIME={"MAX_FRAME_BYTES": 2000})
async def test_an_event_over_the_frame_limit_arrives_truncated_and_the_channel_keeps_flowing():
    socket = await open_socket("/ws/posts")
    await socket.recv("connection")
    big = await sync_to_async(write_post)("big", body="x" * 5000)
    truncated = await socket.recv("created")
    assert truncated["truncated"] is True and truncated["data"] == {"id": big.pk}
    await sync_to_async(write_post)("small")
    small = await socket.recv("created")
    assert small["data"]["title"] == "small" and "truncated" not in small
    assert small["seq"] == truncated["seq"] + 1
    await socket.close()

    resumed = await open_socket("/ws/posts?since=0")
    await resumed.recv("connection")
    assert (await resumed.recv("created"))["truncated"] is True
    assert (await resumed.recv("created"))["data"]["title"] == "small"
    await resumed.close()


async def test_a_replay_reads_the_history_in_pages(monkeypatch):
    for number in range(7):
        await sync_to_async(write_post)(f"post {number}")
    pages = []
    read_page = history.events_page

    def spy(*args, **kwargs):
        page = read_page(*args, **kwargs)
        pages.append(len(page))
        return page

    monkeypatch.setattr(history, "events_page", spy)
    with override_settings(REALTIME={"REPLAY_PAGE_EVENTS": 2}):
        socket = await open_socket("/ws/posts?since=0")
        await socket.recv("connection")
        titles = [(await socket.recv("created"))["data"]["title"] for _ in range(7)]
    assert titles == [f"post {number}" for number in range(7)]
    assert pages == [2, 2, 2, 1]
    await socket.close()


async def test_an_anonymous_socket_costs_no_thread_once_its_channel_has_a_hub(monkeypatch):
    """Its position comes from the hub, its limits are counted in place, its messages hop nowhere."""
    import asgiref.sync

    first = await open_socket("/ws/posts")  # the process joins the channel: one read of its position
    first_seq = (await first.recv("connection"))["seq"]
    hops = []
    original = asgiref.sync.SyncToAsync.__call__

    async def counting(self, *args, **kwargs):
        hops.append(getattr(self.func, "__name__", repr(self.func)))
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(asgiref.sync.SyncToAsync, "__call__", counting)
    second = await open_socket("/ws/posts")
    assert (await second.recv("connection"))["seq"] == first_seq
    await second.send({"type": "ping"})
    await second.recv("pong")
    await second.close()
    assert hops == []
    monkeypatch.undo()
    await first.close()


async def test_a_socket_joining_a_running_hub_starts_after_the_events_it_relayed():
    first = await open_socket("/ws/posts")
    await first.recv("connection")
    author = await sync_to_async(User.objects.create_user)("author@example.com", "x")
    post = await sync_to_async(Post.objects.create)(title="one", author=author, published=True)
    relayed = (await first.recv("created"))["seq"]
    second = await open_socket("/ws/posts")
    assert (await second.recv("connection"))["seq"] == relayed
    post.title = "two"
    await sync_to_async(post.save)()
    assert (await second.recv("updated"))["seq"] == relayed + 1
    await first.close()
    await second.close()
