"""/metrics (django-prometheus) carries the live side's numbers, per server process."""

import re

import httpx
import pytest

from testing.sockets import Socket

pytestmark = pytest.mark.live_server


def metric(text: str, name: str, channel: str) -> float:
    match = re.search(rf'^{name}\{{channel="{channel}"\}} ([0-9.e+]+)$', text, re.MULTILINE)
    assert match, f"{name} for {channel} not in /metrics"
    return float(match.group(1))


async def test_metrics_count_sockets_and_published_events(live_stack):
    stack = live_stack(METRICS_TOKEN="scrape-secret")
    token = stack.create_user("staff@example.com", staff=True)
    server = stack.start_server()
    socket = await Socket.open(f"{server.ws_url}/ws/posts", token=token)
    await socket.connected()
    await socket.send({"type": "get_presence"})
    await socket.recv("presence")
    async with httpx.AsyncClient(base_url=server.http_url, timeout=10) as api:
        for n in range(2):
            await api.post(
                "/api/posts/", json={"title": f"m{n}", "published": True}, headers={"Authorization": f"Token {token}"}
            )
            while (await socket.recv())["type"] != "created":  # its own join may come first
                pass
        text = (await api.get("/metrics", headers={"Authorization": "Bearer scrape-secret"})).text
        assert metric(text, "realtime_sockets_open", "posts") == 1
        assert metric(text, "realtime_events_published_total", "posts") == 2
        assert metric(text, "realtime_presence_users", "posts") == 1
        assert 'realtime_presence_changes_total{change="join",channel="posts"} 1.0' in text
        assert "django_http_requests_total_by_method_total" in text
        await socket.close()
