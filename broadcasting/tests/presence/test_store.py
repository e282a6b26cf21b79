"""
presence/store.py: both stores answer alike, and the Redis one against a real Redis
(its own key prefix): a join and a leave are reported once however processes race,
and a process that stops refreshing drops out after its TTL.
"""

import asyncio
from collections.abc import Iterator

import pytest
import redis

from broadcasting.presence.store import (
    KEEP_ANONYMOUS_COUNT,
    InMemoryPresenceStore,
    PresenceStore,
    RedisPresenceStore,
)
from testing import services

TTL_SECS = 1.0


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def store(request) -> Iterator[PresenceStore]:
    if request.param == "memory":
        yield InMemoryPresenceStore()
        return
    url = request.getfixturevalue("redis_url")
    prefix = services.unique_name("rt_presence")
    yield RedisPresenceStore(url, prefix, TTL_SECS)
    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(match=f"{prefix}:*"))
    if keys:
        client.delete(*keys)


async def test_a_user_joins_with_the_first_process_and_leaves_with_the_last(store):
    assert await store.hold("a", "posts", ["1"], KEEP_ANONYMOUS_COUNT) == ["1"]
    assert await store.hold("b", "posts", ["1", "2"], KEEP_ANONYMOUS_COUNT) == ["2"]
    assert await store.hold("a", "posts", ["1"], KEEP_ANONYMOUS_COUNT) == []  # a refresh: nothing new
    assert (await store.state("posts")).users == ["1", "2"]
    assert await store.release("a", "posts", "1") is False  # b still holds them
    assert await store.release("a", "posts", "1") is False  # twice: still nothing
    assert await store.is_present("posts", "1") is True
    assert await store.release("b", "posts", "1") is True
    assert await store.is_present("posts", "1") is False
    assert (await store.state("posts")).users == ["2"]
    assert (await store.state("users")).users == []


async def test_anonymous_sockets_are_summed_over_processes(store):
    await store.hold("a", "posts", [], 3)
    await store.hold("b", "posts", ["7"], 2)
    await store.hold("b", "posts", [], KEEP_ANONYMOUS_COUNT)
    state = await store.state("posts")
    assert (state.users, state.anonymous) == (["7"], 5)
    await store.hold("a", "posts", [], 0)
    assert (await store.state("posts")).anonymous == 2


async def test_users_are_ordered_by_pk():
    store = InMemoryPresenceStore()
    await store.hold("a", "posts", ["10", "9", "100"], KEEP_ANONYMOUS_COUNT)
    assert (await store.state("posts")).users == ["9", "10", "100"]


@pytest.mark.redis
async def test_a_silent_process_drops_out_after_its_ttl_and_its_users_leave_once(redis_url):
    store = RedisPresenceStore(redis_url, services.unique_name("rt_presence"), TTL_SECS)
    await store.hold("dead", "posts", ["1", "2"], 4)
    await store.hold("alive", "posts", ["2"], 1)
    assert await store.sweep("posts") == []
    await asyncio.sleep(TTL_SECS * 0.6)
    await store.hold("alive", "posts", ["2"], 1)  # alive refreshes; dead does not
    await asyncio.sleep(TTL_SECS * 0.6)
    assert await store.sweep("posts") == ["1"]  # 2 is still held by alive
    assert await store.sweep("posts") == []  # reported once
    state = await store.state("posts")
    assert (state.users, state.anonymous) == (["2"], 1)
    # A process frozen longer than its TTL comes back: its refresh makes its users join again.
    assert await store.hold("dead", "posts", ["1"], KEEP_ANONYMOUS_COUNT) == ["1"]


@pytest.mark.redis
async def test_racing_processes_report_each_join_and_leave_exactly_once(redis_url):
    store = RedisPresenceStore(redis_url, services.unique_name("rt_presence"), 30)
    processes = [f"p{n}" for n in range(8)]
    joined = await asyncio.gather(*(store.hold(p, "posts", ["5"], KEEP_ANONYMOUS_COUNT) for p in processes))
    assert sorted(len(users) for users in joined) == [0] * 7 + [1]
    left = await asyncio.gather(*(store.release(p, "posts", "5") for p in processes))
    assert sorted(left) == [False] * 7 + [True]
    assert (await store.state("posts")).users == []
