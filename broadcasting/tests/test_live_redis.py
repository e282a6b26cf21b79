"""
Several server processes sharing Redis (channels-redis) and PostgreSQL, spoken to by
real WebSocket clients: a write through one process reaches sockets on the other with
continuous seqs; stats, shell writes and `manage.py broadcast` span processes.
"""

import asyncio
import os
import signal

import httpx
import pytest

from testing.api import auth, total_connections_are
from testing.sockets import Socket
from testing.wait import wait_until

pytestmark = [pytest.mark.live_server, pytest.mark.redis, pytest.mark.postgres]


async def test_writes_through_either_process_reach_sockets_on_both_with_continuous_seqs(live_stack):
    stack = live_stack(database="postgres", use_redis=True)
    token = stack.create_user("staff@example.com", staff=True)
    server_a, server_b = stack.start_server(), stack.start_server()

    on_a = await Socket.open(f"{server_a.ws_url}/ws/posts")
    on_b = await Socket.open(f"{server_b.ws_url}/ws/posts", token=token)
    start_seq = (await on_a.connected())["seq"]
    assert (await on_b.connected())["seq"] == start_seq

    clients = [httpx.AsyncClient(base_url=server.http_url, timeout=10) for server in (server_a, server_b)]
    post_ids = []
    for n in range(10):
        response = await clients[n % 2].post(
            "/api/posts/", json={"title": f"post {n}", "published": True}, headers=auth(token)
        )
        assert response.status_code == 201
        post_ids.append(response.json()["id"])

    for socket in (on_a, on_b):
        frames = [await socket.recv("created") for _ in post_ids]
        assert [frame["seq"] for frame in frames] == list(range(start_seq + 1, start_seq + 11))
        assert [frame["data"]["id"] for frame in frames] == post_ids

    stats = (await clients[0].get("/ws/stats")).json()
    assert stats["channels"] == {"posts": 2}
    for client in clients:
        await client.aclose()
    await on_a.close()
    await on_b.close()


async def test_shell_writes_and_broadcast_command_reach_every_process(live_stack):
    stack = live_stack(database="postgres", use_redis=True)
    token = stack.create_user("staff@example.com", staff=True)
    server_a, server_b = stack.start_server(), stack.start_server()
    users_a = await Socket.open(f"{server_a.ws_url}/ws/users", token=token)
    posts_b = await Socket.open(f"{server_b.ws_url}/ws/posts")
    await users_a.connected()
    await posts_b.connected()

    stack.shell("from users.models import User; User.objects.create_user('shell@example.com', name='Shell')")
    assert (await users_a.recv("created"))["data"]["email"] == "shell@example.com"

    stack.manage("broadcast", "users", "user_login", '{"user_id": 123}')
    custom = await users_a.recv("user_login")
    assert custom["data"] == {"user_id": 123} and custom["channel"] == "users"

    stack.manage("broadcast", "--all", "maintenance", '{"message": "Server will restart in 5 minutes"}')
    for socket, channel in ((users_a, "users"), (posts_b, "posts")):
        frame = await socket.recv("maintenance")
        assert frame["channel"] == channel
        assert frame["data"] == {"message": "Server will restart in 5 minutes"}
    await users_a.close()
    await posts_b.close()


async def test_admin_edit_through_one_process_reaches_the_other(live_stack):
    stack = live_stack(database="postgres", use_redis=True)
    stack.create_user("boss@example.com", password="boss-pass-123", staff=True)
    boss_id = stack.shell(
        "from users.models import User; User.objects.filter(email='boss@example.com').update(is_superuser=True);"
        "print(User.objects.get(email='boss@example.com').pk)"
    ).split()[-1]
    server_a, server_b = stack.start_server(), stack.start_server()
    watcher = await Socket.open(f"{server_b.ws_url}/ws/posts")
    await watcher.connected()

    async with httpx.AsyncClient(base_url=server_a.http_url, timeout=10) as browser:
        await browser.get("/admin/login/")
        response = await browser.post(
            "/admin/login/?next=/admin/",
            data={
                "username": "boss@example.com",
                "password": "boss-pass-123",
                "csrfmiddlewaretoken": browser.cookies["csrftoken"],
            },
            headers={"Referer": f"{server_a.http_url}/admin/login/"},
        )
        assert response.status_code == 302
        response = await browser.post(
            "/admin/posts/post/add/",
            data={
                "title": "Admin post",
                "body": "",
                "author": boss_id,
                "published": "on",
                "csrfmiddlewaretoken": browser.cookies["csrftoken"],
            },
            headers={"Referer": f"{server_a.http_url}/admin/posts/post/add/"},
        )
        assert response.status_code == 302, response.text[:1000]
    assert (await watcher.recv("created"))["data"]["title"] == "Admin post"
    await watcher.close()


IDLE_SECS = 11  # two of redis-py's 5 s socket timeouts and then some


async def test_an_idle_socket_still_gets_the_next_event_after_two_redis_socket_timeouts(live_stack):
    """redis-py >= 8 defaults to a 5 s socket timeout that kills idle receive loops (channels_redis #422)."""
    stack = live_stack(use_redis=True)
    token = stack.create_user("staff@example.com", staff=True)
    server = stack.start_server()
    socket = await Socket.open(f"{server.ws_url}/ws/posts")
    start_seq = (await socket.connected())["seq"]
    await asyncio.sleep(IDLE_SECS)
    async with httpx.AsyncClient(base_url=server.http_url, timeout=10) as api:
        await api.post("/api/posts/", json={"title": "after idle", "published": True}, headers=auth(token))
    frame = await socket.recv()
    while frame["type"] == "sync":  # idle heartbeats say the channel has not moved
        assert frame["seq"] == start_seq
        frame = await socket.recv()
    assert frame["type"] == "created" and frame["data"]["title"] == "after idle"
    await socket.close()


async def test_stats_drop_a_killed_process_once_its_presence_expires(live_stack):
    stack = live_stack(use_redis=True, REALTIME_PRESENCE_TTL_SECS="2", REALTIME_PRESENCE_REFRESH_SECS="0.5")
    survivor, doomed = stack.start_server(), stack.start_server()
    kept = await Socket.open(f"{survivor.ws_url}/ws/posts")
    lost = await Socket.open(f"{doomed.ws_url}/ws/posts")
    await kept.connected()
    await lost.connected()
    async with httpx.AsyncClient(base_url=survivor.http_url, timeout=10) as api:
        await wait_until(lambda: total_connections_are(api, 2))
        os.kill(doomed.process.pid, signal.SIGKILL)
        doomed.process.wait(timeout=10)
        survivors_only = {"total_channels": 1, "channels": {"posts": 1}, "total_connections": 1}

        async def counts_only_the_survivor() -> bool:
            return (await api.get("/ws/stats")).json() == survivors_only

        await wait_until(counts_only_the_survivor, message="the killed process's sockets are still counted")
    await kept.close()


async def test_deployments_sharing_a_redis_server_on_other_databases_never_hear_each_other(live_stack, own_redis):
    """
    Redis pub/sub has one namespace per server, whatever the database number: two
    deployments with the same REDIS_KEY_PREFIX on databases 0 and 1 (staging beside
    production, say) must not get each other's events. settings.py puts the number in
    the layer's prefix.
    """
    redis_server = own_redis()
    base_url = redis_server.url.rsplit("/", 1)[0]
    ours = live_stack(redis_url=f"{base_url}/0")
    theirs = live_stack(database="postgres", redis_url=f"{base_url}/1")
    token = ours.create_user("staff@example.com", staff=True)
    our_server, their_server = ours.start_server(), theirs.start_server()
    ours_listening = await Socket.open(f"{our_server.ws_url}/ws/posts")
    theirs_listening = await Socket.open(f"{their_server.ws_url}/ws/posts")
    await ours_listening.connected()
    await theirs_listening.connected()
    async with httpx.AsyncClient(base_url=our_server.http_url, timeout=10) as api:
        response = await api.post("/api/posts/", json={"title": "ours", "published": True}, headers=auth(token))
        assert response.status_code == 201
    assert (await ours_listening.recv("created"))["data"]["title"] == "ours"
    await theirs_listening.assert_silent(1.5)
    await ours_listening.close()
    await theirs_listening.close()
