"""Socket counts: per process without Redis, summed over live processes with it."""

import pytest
from django.test import override_settings

from broadcasting import presence as presence_module
from broadcasting.presence import Presence
from testing import services


async def test_local_counts_without_redis():
    counts = Presence()
    await counts.joined("posts")
    await counts.joined("posts")
    await counts.joined("users")
    await counts.left("posts")
    assert await counts.stats() == {
        "total_channels": 2,
        "channels": {"posts": 1, "users": 1},
        "total_connections": 2,
    }
    await counts.left("posts")
    await counts.left("users")
    assert await counts.stats() == {"total_channels": 0, "channels": {}, "total_connections": 0}


@pytest.mark.redis
async def test_two_processes_sum_through_redis(redis_url, monkeypatch):
    prefix = services.unique_name("rt_presence")
    with override_settings(REDIS_URL=redis_url, REDIS_KEY_PREFIX=prefix):
        process_a, process_b = Presence(), Presence()
        monkeypatch.setattr(presence_module, "PROCESS_ID", "a")
        await process_a.joined("posts")
        monkeypatch.setattr(presence_module, "PROCESS_ID", "b")
        await process_b.joined("posts")
        await process_b.joined("users")
        stats = await process_a.stats()
        await process_b.left("posts")
        await process_b.left("users")
        monkeypatch.setattr(presence_module, "PROCESS_ID", "a")
        await process_a.left("posts")
        after = await process_a.stats()
    assert stats == {"total_channels": 2, "channels": {"posts": 2, "users": 1}, "total_connections": 3}
    assert after["total_connections"] == 0


async def test_unreachable_redis_degrades_to_local_counts():
    from testing.live_server import free_port

    with override_settings(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0"):
        counts = Presence()
        await counts.joined("posts")
        assert (await counts.stats())["channels"] == {"posts": 1}
        await counts.left("posts")
