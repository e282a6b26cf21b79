"""
Redis faults under load, on a redis-server of the test's own (never the shared one):
SIGKILL it for 5 s while writes go on through two server processes, then restart it
with its data kept or empty. Writes must keep returning 2xx; afterwards every client
holds every committed change exactly once, in order; and no socket stays deaf more
than 10 s after Redis is back.
"""

import asyncio
import json
import os

import httpx
import pytest

from testing.live_client import LiveCollection, until_following
from testing.sockets import Socket
from testing.wait import wait_until
from testing.writer import PostWriter

pytestmark = [pytest.mark.live_server, pytest.mark.redis]

OUTAGE_SECS = 5
DEAF_LIMIT_SECS = 10


@pytest.mark.parametrize("keep_data", [True, False], ids=["data-kept", "restarted-empty"])
async def test_killing_redis_under_writes_loses_nothing(live_stack, own_redis, keep_data):
    redis_server = own_redis(keep_data=keep_data)
    stack = live_stack(redis_url=redis_server.url)
    token = stack.create_user("staff@example.com", staff=True)
    servers = [stack.start_server(), stack.start_server()]
    stop_following, stop_writing = asyncio.Event(), asyncio.Event()
    clients = [LiveCollection(server.http_url, server.ws_url, "posts", token=token) for server in servers]
    following = [asyncio.create_task(client.follow(stop_following)) for client in clients]
    writer = PostWriter([server.http_url for server in servers], token, interval_secs=0.05)
    writing = asyncio.create_task(writer.run(stop_writing))
    loop = asyncio.get_running_loop()

    await until_following(clients, following)
    await wait_until(lambda: len(writer.statuses) >= 10, message="the writer never got going")
    writes_before_outage = len(writer.statuses)
    redis_server.kill()
    await asyncio.sleep(OUTAGE_SECS)
    writes_during_outage = len(writer.statuses) - writes_before_outage
    redis_server.start()
    back_at = loop.time()
    await asyncio.sleep(1)
    stop_writing.set()
    await writing

    async with httpx.AsyncClient(base_url=servers[0].http_url, timeout=30) as api:
        response = await api.get("/api/posts/", params={"page_size": 1}, headers={"Authorization": f"Token {token}"})
        final_seq = int(response.headers["X-Channel-Seq"])
    caught_up_after = []
    for client in clients:
        await client.wait_for_seq(final_seq, timeout_secs=DEAF_LIMIT_SECS - (loop.time() - back_at))
        caught_up_after.append(round(loop.time() - back_at, 2))
    stop_following.set()
    await asyncio.gather(*following)

    truth = await clients[0].fetch_truth()
    report = {
        "keep_data": keep_data,
        "writes": len(writer.statuses),
        "writes_during_outage": writes_during_outage,
        "non_2xx": writer.failures(),
        "final_seq": final_seq,
        "caught_up_secs_after_redis_back": caught_up_after,
        "reconnects": [client.connections - 1 for client in clients],
        "resets": [client.resets for client in clients],
    }
    print("fault report:", json.dumps(report))
    assert writer.failures() == []
    assert writes_during_outage > 0
    for client in clients:
        assert client.anomalies == []
        assert client.objects == truth
        assert client.applied_seqs == sorted(set(client.applied_seqs))
        assert client.last_seq == final_seq


# The issue asked for a minute; 20 s outlasts every timer the freeze can trip (the 1 s
# publish timeout, the circuit's 5 s retry, the 10 s deaf limit) twice over. FAULT_FREEZE_SECS=60
# runs the full minute.
FREEZE_SECS = float(os.environ.get("FAULT_FREEZE_SECS", "20"))


async def test_a_frozen_redis_never_makes_a_writer_wait(live_stack, own_redis):
    """
    Redis stopped (SIGSTOP) for FREEZE_SECS under 10 REST writes and a 500-object bulk update:
    each write answers in under 1 s, the bulk update takes under 10 s, the sockets stay
    open, and after SIGCONT every client has every event exactly once, in order.
    """
    redis_server = own_redis()
    stack = live_stack(redis_url=redis_server.url)
    token = stack.create_user("staff@example.com", staff=True)
    stack.shell(
        "from posts.models import Post\nfrom users.models import User\n"
        "author = User.objects.get(email='staff@example.com')\n"
        "Post.objects.bulk_create(Post(title=f'bulk {n}', author=author, published=True) for n in range(500))"
    )
    servers = [stack.start_server(), stack.start_server()]
    stop_following = asyncio.Event()
    clients = [LiveCollection(server.http_url, server.ws_url, "posts", token=token) for server in servers]
    following = [asyncio.create_task(client.follow(stop_following)) for client in clients]
    watcher = await Socket.open(f"{servers[0].ws_url}/ws/posts")
    await watcher.connected()
    await until_following(clients, following)
    loop = asyncio.get_running_loop()

    redis_server.freeze()
    frozen_at = loop.time()
    write_secs = []
    async with httpx.AsyncClient(timeout=30, headers={"Authorization": f"Token {token}"}) as api:
        for number in range(10):
            started = loop.time()
            response = await api.post(
                f"{servers[number % 2].http_url}/api/posts/", json={"title": f"frozen {number}", "published": True}
            )
            write_secs.append(round(loop.time() - started, 3))
            assert response.status_code == 201, response.text
        bulk_output = await asyncio.to_thread(
            stack.shell,
            "import time\nfrom posts.models import Post\n"
            "started = time.monotonic()\n"
            "Post.objects.filter(title__startswith='bulk ').update(published=False)\n"
            "print('bulk_secs', round(time.monotonic() - started, 3))",
        )
        bulk_secs = float(bulk_output.split("bulk_secs")[-1].split()[0])
        # The process still answers its sockets: ping at once, stats (Redis-backed) within its timeout.
        answers = {"ping": "pong", "get_stats": "stats", "get_presence": "presence"}
        for frame_type, answer_within_secs in (("ping", 1.0), ("get_stats", 3.0), ("get_presence", 3.5)):
            await watcher.send({"type": frame_type})
            answered_by = loop.time() + answer_within_secs
            while (await watcher.recv(timeout=max(0.01, answered_by - loop.time())))["type"] != answers[frame_type]:
                pass
        await asyncio.sleep(max(0.0, FREEZE_SECS - (loop.time() - frozen_at)))
        redis_server.thaw()
        response = await api.get(f"{servers[0].http_url}/api/posts/", params={"page_size": 1})
        final_seq = int(response.headers["X-Channel-Seq"])
    for client in clients:
        await client.wait_for_seq(final_seq, timeout_secs=DEAF_LIMIT_SECS)
    stop_following.set()
    await asyncio.gather(*following)
    await watcher.close()

    truth = await clients[0].fetch_truth()
    print("freeze report:", json.dumps({"write_secs": write_secs, "bulk_secs": bulk_secs, "final_seq": final_seq}))
    assert max(write_secs) < 1.0
    assert bulk_secs < 10.0
    for client in clients:
        assert client.connections == 1  # the socket stayed open through the freeze
        assert client.anomalies == []
        assert client.objects == truth
        assert client.applied_seqs == sorted(set(client.applied_seqs))
        assert client.last_seq == final_seq


async def test_a_channels_first_socket_in_a_process_opens_while_redis_is_frozen(live_stack, own_redis):
    """
    Joining a channel's group waits on Redis; frozen, the first socket of a channel in a
    process still gets its connection frame within the group join's timeout, and its
    events, from the history until the group is joined again.
    """
    redis_server = own_redis()
    stack = live_stack(redis_url=redis_server.url)
    token = stack.create_user("staff@example.com", staff=True)
    server = stack.start_server()
    loop = asyncio.get_running_loop()
    redis_server.freeze()
    try:
        opened_at = loop.time()
        socket = await Socket.open(f"{server.ws_url}/ws/posts")
        connection = await socket.connected()
        assert loop.time() - opened_at < 4.0
    finally:
        redis_server.thaw()
    async with httpx.AsyncClient(base_url=server.http_url, timeout=10) as api:
        response = await api.post(
            "/api/posts/",
            json={"title": "after the thaw", "published": True},
            headers={"Authorization": f"Token {token}"},
        )
        assert response.status_code == 201
    created = await socket.recv("created", timeout=DEAF_LIMIT_SECS)
    assert (created["seq"], created["data"]["title"]) == (connection["seq"] + 1, "after the thaw")
    await socket.close()


async def test_after_redis_restarts_empty_the_layer_itself_delivers_again(live_stack, own_redis):
    """
    The pub/sub layer keeps its subscriptions in the connection, not in Redis: after a
    restart with nothing kept, each process subscribes again by itself. The history check
    is slowed to an hour here, so only the layer can bring a write through one process to
    a socket on the other.
    """
    redis_server = own_redis()
    stack = live_stack(redis_url=redis_server.url, REALTIME_SEQ_CHECK_INTERVAL_SECS="3600")
    token = stack.create_user("staff@example.com", staff=True)
    writing, listening = stack.start_server(), stack.start_server()
    socket = await Socket.open(f"{listening.ws_url}/ws/posts")
    start_seq = (await socket.connected())["seq"]
    loop = asyncio.get_running_loop()
    async with httpx.AsyncClient(base_url=writing.http_url, timeout=10) as api:

        async def write(title: str) -> None:
            response = await api.post(
                "/api/posts/", json={"title": title, "published": True}, headers={"Authorization": f"Token {token}"}
            )
            assert response.status_code == 201

        await write("before")
        assert (await socket.recv("created"))["seq"] == start_seq + 1
        redis_server.kill()
        await asyncio.sleep(2)
        redis_server.start()
        # Writes go on until one comes through: the sender's circuit may still be resting.
        deadline, written, frame = loop.time() + 20, 0, None
        while frame is None and loop.time() < deadline:
            written += 1
            await write(f"after {written}")
            try:
                frame = await socket.recv("created", timeout=0.5)
            except TimeoutError:
                continue
    assert frame is not None, "no event reached the other process through the layer within 20 s of the restart"
    # The first to arrive may be a later write; the gap before it is then replayed (delivery/fanout.py).
    assert frame["seq"] == start_seq + 2, frame
    await socket.close()
