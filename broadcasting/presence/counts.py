"""
How many sockets each channel has, counted across every server process (the FastAPI
guide's ``get_stats`` and ``/ws/stats``). Counting sockets, not who is behind them.

Each process's counts are its fanout's membership (delivery/fanout.py). Without Redis that is
the answer (one process). With REDIS_URL, every process mirrors its counts into a
Redis hash of its own that expires after REALTIME["PRESENCE_TTL_SECS"] unless
refreshed every REALTIME["PRESENCE_REFRESH_SECS"]; stats add up every live hash, so a
process that dies without cleaning up drops out by itself. A Redis outage degrades
stats to this process's counts; it never breaks a socket.
"""

import asyncio
import logging
import uuid
import weakref
from collections import Counter
from collections.abc import Callable

import redis.asyncio as aioredis
from django.conf import settings
from redis.typing import EncodableT, FieldT

from broadcasting.conf import realtime_setting
from broadcasting.delivery.fanout import process_fanout
from broadcasting.runtime.loop_redis import LoopRedis
from broadcasting.runtime.per_loop import LoopTask, PerLoop

logger = logging.getLogger(__name__)


def _text(value: bytes | str) -> str:
    """Redis answers bytes (this client does not decode); keys and fields are ASCII."""
    return value.decode() if isinstance(value, bytes) else value


PROCESS_ID = uuid.uuid4().hex

# How long the joins and leaves of this process gather before one write to Redis takes
# them all (socket counts, anonymous presence, released socket caps): a reconnect storm
# is a few writes a second, not one per socket. Readers add this process's own live
# counts, so only other processes' lag by it.
SHARED_WRITE_DELAY_SECS = 0.25


def _key_prefix() -> str:
    return f"{settings.REDIS_KEY_PREFIX}:socket_counts:"


class SocketCounts:
    """The socket counts of this process, and the sum over all processes."""

    def __init__(self, local_counts: Callable[[], Counter[str]] = process_fanout.socket_counts) -> None:
        self.local_counts = local_counts
        self._clients = LoopRedis()
        self._refresher = LoopTask(self._refresh_forever)
        self._mirroring: set[asyncio.Task] = set()
        self._mirror_due: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()
        self._mirror_locks: PerLoop[asyncio.Lock] = PerLoop(lambda loop: asyncio.Lock())

    def joined(self, socket: object) -> None:
        """Called by the hub when a socket joins a channel."""
        self.changed()

    def left(self, socket: object) -> None:
        """Called by the hub when a socket leaves a channel."""
        self.changed()

    def changed(self) -> None:
        """Mirror the counts soon: the changes of SHARED_WRITE_DELAY_SECS make one write."""
        if not settings.REDIS_URL:
            return
        self._refresher.ensure()
        loop = asyncio.get_running_loop()
        if loop in self._mirror_due:
            return
        self._mirror_due.add(loop)
        task = loop.create_task(self._mirror_soon(loop))
        self._mirroring.add(task)
        task.add_done_callback(self._mirroring.discard)

    async def _mirror_soon(self, loop: asyncio.AbstractEventLoop) -> None:
        await asyncio.sleep(SHARED_WRITE_DELAY_SECS)
        async with self._mirror_locks.get(loop):  # one at a time, so a later count is never overwritten
            self._mirror_due.discard(loop)
            await self.mirror()

    async def stats(self) -> dict:
        """The FastAPI guide's stats body: channels with sockets, and the totals."""
        counts = await self._shared_counts() if settings.REDIS_URL else None
        if counts is None:
            counts = self.local_counts()
        channels = {channel: count for channel, count in sorted(counts.items()) if count > 0}
        return {
            "total_channels": len(channels),
            "channels": channels,
            "total_connections": sum(channels.values()),
        }

    def _redis(self) -> aioredis.Redis:
        return self._clients.client(settings.REDIS_URL)

    async def mirror(self) -> None:
        """Write this process's counts to its Redis hash (replacing what was there)."""
        if not settings.REDIS_URL:
            return
        key = _key_prefix() + PROCESS_ID
        counts = self.local_counts()
        try:
            async with self._redis().pipeline(transaction=True) as pipe:
                pipe.delete(key)
                if counts:
                    mapping: dict[FieldT, EncodableT] = {channel: count for channel, count in counts.items()}
                    pipe.hset(key, mapping=mapping)
                    pipe.expire(key, int(realtime_setting("PRESENCE_TTL_SECS")))
                await pipe.execute()
        except Exception as error:  # Redis down: stats fall back to local counts
            logger.warning("Could not mirror socket counts to Redis: %s", error)

    async def _shared_counts(self) -> Counter[str] | None:
        """Every other live process's counts from Redis, and this one's as they are now."""
        own_key = (_key_prefix() + PROCESS_ID).encode()
        try:
            client = self._redis()
            totals: Counter[str] = self.local_counts()
            async for key in client.scan_iter(match=_key_prefix() + "*", count=500):
                if key == own_key:
                    continue
                for channel, count in (await client.hgetall(key)).items():
                    totals[_text(channel)] += int(count)
            return totals
        except Exception as error:
            logger.warning("Could not read socket counts from Redis, counting this process only: %s", error)
            return None

    async def per_process(self) -> dict[str, Counter[str]] | None:
        """Each live process's counts by its id, from Redis; None without Redis or when it fails."""
        if not settings.REDIS_URL:
            return None
        try:
            client = self._redis()
            counts: dict[str, Counter[str]] = {}
            async for key in client.scan_iter(match=_key_prefix() + "*", count=500):
                process_id = _text(key).removeprefix(_key_prefix())
                counts[process_id] = Counter(
                    {_text(channel): int(count) for channel, count in (await client.hgetall(key)).items()}
                )
            return counts
        except Exception as error:
            logger.warning("Could not read socket counts from Redis: %s", error)
            return None

    async def _refresh_forever(self) -> None:
        while self.local_counts():
            await asyncio.sleep(realtime_setting("PRESENCE_REFRESH_SECS"))
            async with self._mirror_locks.get():
                await self.mirror()


socket_counts = SocketCounts()
