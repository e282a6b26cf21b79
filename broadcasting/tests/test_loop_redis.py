"""
LoopRedis (broadcasting/loop_redis.py): one client per event loop and URL, reused
within a loop, new in another; a script registered once per client, run on a real Redis.
"""

import asyncio
import threading

from broadcasting.loop_redis import LoopRedis


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
