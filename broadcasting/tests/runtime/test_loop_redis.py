"""
LoopRedis (broadcasting/runtime/loop_redis.py): one client per event loop and URL, reused
within a loop, new in another; a script registered once per client, run on a real Redis.
"""

import asyncio
import threading
import uuid

import httpx
import pytest

from broadcasting.runtime.loop_redis import POOL_CONNECTIONS, LoopRedis
from testing.sockets import Socket
from testing.wait import wait_until


async def test_one_client_per_loop_and_url_with_its_scripts(redis_url):
    clients = LoopRedis(decode_responses=True)
    client = clients.client(redis_url)
    assert clients.client(redis_url) is client
    assert clients.client(redis_url.rsplit("/", 1)[0] + "/1") is not client
    script = clients.script(redis_url, "return ARGV[1]")
    assert clients.script(redis_url, "return ARGV[1]") is script
    assert await script(keys=[], args=["answered"]) == "answered"

    from_another_loop = []
    thread = threading.Thread(target=lambda: from_another_loop.append(asyncio.run(_client_of(clients, redis_url))))
    thread.start()
    thread.join()
    assert from_another_loop[0] is not client  # its connections belong to that loop
    await client.aclose()


async def _client_of(clients: LoopRedis, url: str):
    client = clients.client(url)
    await client.ping()
    await client.aclose()
    return client


async def test_a_burst_past_the_pool_waits_for_a_connection_instead_of_failing(redis_url):
    name = f"pool-probe-{uuid.uuid4().hex[:8]}"
    clients = LoopRedis(decode_responses=True, client_name=name)
    client = clients.client(redis_url)
    answers = await asyncio.gather(*(client.execute_command("CLIENT", "LIST") for _ in range(10 * POOL_CONNECTIONS)))
    opened = max(sum(f"name={name} " in line for line in listing.splitlines()) for listing in answers)
    assert 1 < opened <= POOL_CONNECTIONS
    await client.aclose()


@pytest.mark.live_server
@pytest.mark.redis
async def test_300_sockets_closing_at_once_log_no_redis_pool_errors(live_stack):
    server = live_stack(use_redis=True, REALTIME_MAX_SOCKETS_PER_ADDRESS="1000").start_server("serve")
    sockets = [await Socket.open(f"{server.ws_url}/ws/posts") for _ in range(300)]
    for socket in sockets:
        await socket.connected()
    await asyncio.gather(*(socket.close() for socket in sockets))
    async with httpx.AsyncClient(base_url=server.http_url) as client:

        async def all_gone() -> bool:
            return (await client.get("/ws/stats")).json()["total_connections"] == 0

        await wait_until(all_gone, timeout=15, message="the closed sockets are still counted")
    assert "Too many connections" not in server.log()
