"""Socket counts: per process without Redis, summed over live processes with it."""

from collections import Counter

import pytest
from django.test import override_settings

from broadcasting.presence import counts as socket_counts_module
from broadcasting.presence.counts import SocketCounts
from testing import services


async def test_local_counts_without_redis():
    local = Counter({"posts": 1, "users": 1})
    counts = SocketCounts(local_counts=lambda: local)
    assert await counts.stats() == {
        "total_channels": 2,
        "channels": {"posts": 1, "users": 1},
        "total_connections": 2,
    }
    local.clear()
    assert await counts.stats() == {"total_channels": 0, "channels": {}, "total_connections": 0}


@pytest.mark.redis
async def test_two_processes_sum_through_redis(redis_url, monkeypatch):
    prefix = services.unique_name("rt_counts")
    local_a, local_b = Counter({"posts": 1}), Counter({"posts": 1, "users": 1})
    with override_settings(REDIS_URL=redis_url, REDIS_KEY_PREFIX=prefix):
        process_a, process_b = SocketCounts(lambda: local_a), SocketCounts(lambda: local_b)
        monkeypatch.setattr(socket_counts_module, "PROCESS_ID", "a")
        await process_a.mirror()
        monkeypatch.setattr(socket_counts_module, "PROCESS_ID", "b")
        await process_b.mirror()
        monkeypatch.setattr(socket_counts_module, "PROCESS_ID", "a")  # A reads as A: its own counts live
        stats = await process_a.stats()
        local_a.clear()
        local_b.clear()
        monkeypatch.setattr(socket_counts_module, "PROCESS_ID", "b")
        await process_b.mirror()
        monkeypatch.setattr(socket_counts_module, "PROCESS_ID", "a")
        await process_a.mirror()
        after = await process_a.stats()
    assert stats == {"total_channels": 2, "channels": {"posts": 2, "users": 1}, "total_connections": 3}
    assert after["total_connections"] == 0


async def test_a_process_counts_itself_live_and_others_as_last_mirrored(redis_url, monkeypatch):
    """Its own hash lags by SHARED_WRITE_DELAY_SECS; its own stats never do."""
    prefix = services.unique_name("rt_counts")
    local = Counter({"posts": 1})
    with override_settings(REDIS_URL=redis_url, REDIS_KEY_PREFIX=prefix):
        counts = SocketCounts(lambda: local)
        await counts.mirror()
        local["posts"] = 5  # four joins, not mirrored yet
        assert (await counts.stats())["total_connections"] == 5


async def test_unreachable_redis_degrades_to_local_counts():
    from testing.live_server import free_port

    with override_settings(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0"):
        counts = SocketCounts(lambda: Counter({"posts": 1}))
        await counts.mirror()
        assert (await counts.stats())["channels"] == {"posts": 1}
