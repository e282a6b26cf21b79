"""
The process's one cache object (broadcasting/runtime/shared_cache.py): the same across tasks
and threads, where Django's ``caches`` makes one per asyncio context; and, on a real
server with a Redis of the test's own, sockets and requests do not each hold a Redis
connection.
"""

import asyncio
import contextvars

import httpx
import redis
from asgiref.sync import sync_to_async
from django.core.cache import caches
from django.test import override_settings

from broadcasting.runtime.shared_cache import shared_cache
from testing.sockets import Socket


async def test_one_object_for_every_task_and_thread_where_django_makes_one_per_task():
    async def from_a_task():
        return caches["default"], shared_cache(), await sync_to_async(shared_cache)()

    # Each in a fresh context, as a server starts each connection's task.
    (django_a, shared_a, threaded_a), (django_b, shared_b, threaded_b) = await asyncio.gather(
        *(asyncio.create_task(from_a_task(), context=contextvars.Context()) for _ in range(2))
    )
    assert django_a is not django_b  # why the shared one exists
    assert shared_a is shared_b is threaded_a is threaded_b


def test_new_caches_settings_make_a_new_object():
    before = shared_cache()
    with override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}):
        assert type(shared_cache()).__name__ == "DummyCache"
    assert shared_cache() is not before and type(shared_cache()) is type(before)


async def test_sockets_and_requests_share_a_few_redis_connections(live_stack, own_redis):
    redis_server = own_redis()
    stack = live_stack(
        redis_url=redis_server.url,
        REALTIME_MAX_SOCKETS_PER_ADDRESS="1000",
        REALTIME_CONNECTS_PER_ADDRESS_PER_MIN="1000",
    )
    server = stack.start_server(kind="serve")
    client = redis.Redis.from_url(redis_server.url)

    async def open_many(count: int) -> list[Socket]:
        sockets = [await Socket.open(f"{server.ws_url}/ws/posts") for _ in range(count)]
        for socket in sockets:
            await socket.connected()
        return sockets

    sockets = await open_many(20)
    with_20 = len(client.client_list())
    sockets += await open_many(200)
    async with httpx.AsyncClient(base_url=server.http_url) as http:
        for _ in range(50):
            assert (await http.get("/api/posts/")).status_code == 200  # each one counted by the throttle
    with_220 = len(client.client_list())
    # Before, each socket held a connection of its own for its life (+200 here).
    assert with_220 - with_20 < 10, (with_20, with_220)
    for socket in sockets:
        await socket.close()
