"""`manage.py realtime_stats` against a real server process on Redis."""

import json

import httpx
import pytest

from testing.sockets import Socket
from testing.wait import wait_until

pytestmark = [pytest.mark.live_server, pytest.mark.redis]


async def test_realtime_stats_shows_seqs_history_sockets_per_process_and_the_layer(live_stack):
    stack = live_stack(use_redis=True)
    token = stack.create_user("staff@example.com", staff=True)
    server = stack.start_server()
    sockets = [
        await Socket.open(f"{server.ws_url}/ws/posts", token=token),
        await Socket.open(f"{server.ws_url}/ws/posts"),
    ]
    for socket in sockets:
        await socket.connected()
    headers = {"Authorization": f"Token {token}"}
    async with httpx.AsyncClient(base_url=server.http_url, timeout=10, headers=headers) as api:
        for number in range(3):
            response = await api.post("/api/posts/", json={"title": f"s{number}", "published": True})
            assert response.status_code == 201
    for socket in sockets:
        for _ in range(3):
            await socket.recv("created")

    stats = json.loads(stack.manage("realtime_stats", "--json"))

    assert stats["channels"]["posts"]["last_seq"] == 3
    assert stats["channels"]["posts"]["history_events"] == 3 and stats["channels"]["posts"]["oldest_seq"] == 1
    assert [counts.get("posts") for counts in stats["sockets_per_process"].values()] == [2]
    assert stats["channel_layer"] == "ok"
    assert stats["presence"]["posts"] == {"users": 1, "anonymous": 1}
    text = stack.manage("realtime_stats")
    assert "posts" in text and "sockets: 2 open, in 1 server process(es)" in text and "channel layer: ok" in text
    assert "posts 1 user(s) + 1 anonymous" in text
    for socket in sockets:
        await socket.close()
    await wait_until(lambda: "sockets: none open, in any server process" in stack.manage("realtime_stats"))
