"""
redis.asyncio clients, one per event loop (and Redis URL), with their Lua scripts.

A redis.asyncio client's connections belong to the event loop that opened them, and
one process may run more than one loop over its life (each in-process test has its
own, and so do management commands that run async code). Socket counts and presence
each keep their clients here, so each loop gets its own and a script is registered
once per client.
"""

from typing import Any

import redis.asyncio as aioredis
from redis.commands.core import AsyncScript

from broadcasting.runtime.per_loop import PerLoop
from broadcasting.runtime.redis_target import async_pool

# A slow Redis must cost a socket or a stats call seconds at most, not redis-py's default.
TIMEOUT_SECS = 2
# Connections one client may open; past them a command waits (up to TIMEOUT_SECS) for a
# free one instead of failing with "Too many connections" (a burst of closing sockets).
POOL_CONNECTIONS = 20


class LoopRedis:
    """The clients (and scripts) of one user of Redis, by event loop and URL."""

    def __init__(self, **options: Any) -> None:
        self.options = {
            "socket_timeout": TIMEOUT_SECS,
            "socket_connect_timeout": TIMEOUT_SECS,
            "max_connections": POOL_CONNECTIONS,
            "timeout": TIMEOUT_SECS,
            **options,
        }
        self._by_loop: PerLoop[dict[str, tuple[aioredis.Redis, dict[str, AsyncScript]]]] = PerLoop(lambda loop: {})

    def client(self, url: str) -> aioredis.Redis:
        """This loop's client of ``url``."""
        return self._entry(url)[0]

    def script(self, url: str, source: str) -> AsyncScript:
        """The Lua script ``source``, registered on this loop's client of ``url``."""
        client, scripts = self._entry(url)
        script = scripts.get(source)
        if script is None:
            script = scripts[source] = client.register_script(source)
        return script

    def _entry(self, url: str) -> tuple[aioredis.Redis, dict[str, AsyncScript]]:
        by_url = self._by_loop.get()
        entry = by_url.get(url)
        if entry is None:
            pool = async_pool(url, **self.options)
            entry = by_url[url] = (aioredis.Redis(connection_pool=pool), {})
        return entry
