"""
The delivery path against real servers on a port, as a hostile or unlucky client
would meet it: a client that stops reading, an event of megabytes, replays nobody
reads, malformed and too-fast clients. Each runs on daphne (what `make run` serves)
and on uvicorn as `make serve` runs it, which treat a slow reader differently: daphne
buffers without limit, uvicorn makes the send wait.
"""

import asyncio
from pathlib import Path

import httpx
import pytest

from testing.sockets import Socket, StalledSocket
from testing.wait import wait_until

pytestmark = pytest.mark.live_server

SERVER_KINDS = ["daphne", "serve"]


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


async def collect_seqs(reader: Socket, upto_seq: int, seqs: list[int]) -> None:
    while not seqs or seqs[-1] < upto_seq:
        frame = await reader.recv(timeout=30)
        if "seq" in frame and frame["type"] != "connection":
            seqs.append(frame["seq"])


def post_body(size: int, number: int) -> dict:
    return {"title": f"post {number}", "body": "x" * size, "published": True}


@pytest.mark.parametrize(("server_kind", "use_redis"), [("daphne", False), ("serve", False), ("serve", True)])
async def test_a_reader_that_stops_is_closed_4408_while_a_reading_socket_gets_every_event(
    live_stack, server_kind, use_redis
):
    stack = live_stack(
        use_redis=use_redis,
        REALTIME_OUTBOX_MAX_BYTES=str(1024 * 1024),
        # uvicorn: how long the stuck send waits; daphne: how long the closed socket has
        # to read its way to the close frame.
        REALTIME_SEND_TIMEOUT_SECS="2" if server_kind == "serve" else "30",
        REALTIME_SEQ_CHECK_INTERVAL_SECS="0.5",
        REALTIME_MAX_FRAME_BYTES="300000",
    )
    token = stack.create_user("writer@example.com", staff=True)
    server = stack.start_server(server_kind)
    reader = await Socket.open(f"{server.ws_url}/ws/posts")
    start_seq = (await reader.connected())["seq"]
    stalled = await StalledSocket.open(f"{server.ws_url}/ws/posts")
    writes = 40
    seqs: list[int] = []
    reading = asyncio.create_task(collect_seqs(reader, start_seq + writes, seqs))
    async with httpx.AsyncClient(base_url=server.http_url, timeout=30) as api:
        for number in range(writes):
            response = await api.post(
                "/api/posts/", json=post_body(250_000, number), headers={"Authorization": f"Token {token}"}
            )
            assert response.status_code == 201
    await asyncio.wait_for(reading, 60)
    assert seqs == list(range(start_seq + 1, start_seq + writes + 1))

    if server_kind == "serve":  # the stuck send times out at a check: only then may the stalled client read

        async def only_the_reader_counted() -> bool:
            async with httpx.AsyncClient(base_url=server.http_url) as api:
                return (await api.get("/ws/stats")).json()["total_connections"] == 1

        await wait_until(only_the_reader_counted, message="the stalled socket was never closed")
    frames, close_code = await stalled.read_until_closed()
    assert close_code == 4408
    if server_kind == "daphne":  # daphne takes the error frame; uvicorn's send is the stuck one
        assert frames[-1] == {**frames[-1], "type": "error", "code": "slow_consumer"}
    applied = [frame["seq"] for frame in frames if frame["type"] == "created"]
    assert applied == list(range(start_seq + 1, start_seq + 1 + len(applied)))
    assert len(applied) < writes

    last_seq = applied[-1] if applied else start_seq
    resumed = await Socket.open(f"{server.ws_url}/ws/posts?since={last_seq}")
    await resumed.connected()
    rest = [(await resumed.recv("created", timeout=30))["seq"] for _ in range(start_seq + writes - last_seq)]
    assert rest == list(range(last_seq + 1, start_seq + writes + 1))
    async with httpx.AsyncClient(base_url=server.http_url) as api:
        assert (await api.get("/ws/stats")).json()["total_connections"] == 2
    await resumed.close()
    await reader.close()


@pytest.mark.parametrize("server_kind", SERVER_KINDS)
async def test_a_2_mb_event_arrives_truncated_and_the_channel_keeps_flowing_live_and_on_resume(live_stack, server_kind):
    stack = live_stack()
    token = stack.create_user("writer@example.com")
    server = stack.start_server(server_kind)
    reader = await Socket.open(f"{server.ws_url}/ws/posts")
    start_seq = (await reader.connected())["seq"]
    headers = {"Authorization": f"Token {token}"}
    async with httpx.AsyncClient(base_url=server.http_url, timeout=30) as api:
        big = await api.post("/api/posts/", json=post_body(2_000_000, 1), headers=headers)
        assert big.status_code == 201
        small = await api.post("/api/posts/", json=post_body(10, 2), headers=headers)
        assert small.status_code == 201
    truncated = await reader.recv("created")
    assert truncated == {**truncated, "truncated": True, "data": {"id": big.json()["id"]}, "seq": start_seq + 1}
    whole = await reader.recv("created")
    assert whole["data"]["title"] == "post 2" and "truncated" not in whole

    resumed = await Socket.open(f"{server.ws_url}/ws/posts?since={start_seq}")
    await resumed.connected()
    assert (await resumed.recv("created"))["truncated"] is True
    assert (await resumed.recv("created"))["data"]["id"] == small.json()["id"]
    await resumed.close()
    await reader.close()


async def test_replays_nobody_reads_hold_bounded_memory(live_stack):
    stack = live_stack(
        REALTIME_OUTBOX_MAX_BYTES=str(1024 * 1024),
        REALTIME_REPLAY_PAGE_EVENTS="5",
        REALTIME_SEND_TIMEOUT_SECS="60",
    )
    stack.shell(
        "from users.models import User\nfrom posts.models import Post\n"
        "author = User.objects.create_user('author@example.com', 'pw-1234567890')\n"
        "for number in range(100):\n"
        "    Post.objects.create(title=f'post {number}', body='x' * 200_000, author=author, published=True)\n"
    )  # 20 MB of history
    server = stack.start_server("daphne")
    before = rss_mib(server.process.pid)
    stalled = [await StalledSocket.open(f"{server.ws_url}/ws/posts?since=0") for _ in range(5)]
    await asyncio.sleep(4)
    growth = rss_mib(server.process.pid) - before
    # Unbounded, five replays of 20 MB held about 95 MiB; bounded, each holds at most
    # a page (5 events, 1 MB) and its outbox (1 MiB, daphne's buffer included).
    assert growth < 40, f"server grew {growth:.1f} MiB for 5 unread replays"
    reader = await Socket.open(f"{server.ws_url}/ws/posts?since=0")
    await reader.connected()
    assert [(await reader.recv("created"))["seq"] for _ in range(100)] == list(range(1, 101))
    for connection in stalled:
        connection.abort()
    await reader.close()


@pytest.mark.parametrize("server_kind", SERVER_KINDS)
async def test_malformed_and_too_fast_clients_leave_no_ghost_sockets(live_stack, server_kind):
    server = live_stack(REALTIME_CLIENT_FRAME_BURST="3", REALTIME_CLIENT_FRAMES_PER_SEC="0.01").start_server(
        server_kind
    )
    nested = await Socket.open(f"{server.ws_url}/ws/posts")
    await nested.connected()
    await nested.send("[" * 10_000 + "]" * 10_000)
    assert (await nested.recv("error"))["code"] == "bad_json"
    flooders = [await Socket.open(f"{server.ws_url}/ws/posts") for _ in range(30)]
    for flooder in flooders:
        await flooder.connected()
        for _ in range(8):
            await flooder.send({"type": "ping"})
    for flooder in flooders:
        assert await flooder.closed_with() == 4429
    await nested.send({"type": "ping"})
    assert (await nested.recv("pong"))["type"] == "pong"
    async with httpx.AsyncClient(base_url=server.http_url) as api:

        async def only_the_nested_socket_counted() -> bool:
            stats = (await api.get("/ws/stats")).json()
            return stats == {"total_channels": 1, "channels": {"posts": 1}, "total_connections": 1}

        await wait_until(only_the_nested_socket_counted, timeout=5, message="ghost sockets are still counted")
    await nested.close()
