"""
SocketLimits: how many sockets one address or one user may hold, and how often an
address may open one.

A handshake is refused with ``too_many_connections`` / 4429 when its address already
holds REALTIME["MAX_SOCKETS_PER_ADDRESS"] sockets or its user
REALTIME["MAX_SOCKETS_PER_USER"] on the server, or when its address has opened
REALTIME["CONNECTS_PER_ADDRESS_PER_MIN"] sockets in the current minute.

With REDIS_URL the open sockets are counted for the whole server, whatever the number
of processes alive: each process keeps its counts in a Redis hash of its own, listed in
a sorted set by the time it expires (REALTIME["PRESENCE_TTL_SECS"], refreshed every
PRESENCE_REFRESH_SECS), and an admission sums the live hashes in one Lua script: one
round trip. A killed process's counts drop out when it expires, so it never locks its
addresses out for long. Without Redis (one process), or while Redis fails, each
process counts its own and allows its 1/REALTIME["SERVER_PROCESSES"] share.
The connect rate is counted in the cache every process shares, so reconnecting, to any
process, never resets a client's limit for free. Load tests and benchmarks that open
thousands of sockets from one address raise the limits from the environment.

A handshake costs at most one Redis round trip and no thread: with Redis, the connect
rate, the caps and the releases of sockets closed since are one script; without it,
the in-process cache is counted in place. Releases wait up to SHARED_WRITE_DELAY_SECS for
the next admission to carry them, so a storm of closes is one write, not one each.
"""

import asyncio
import logging
import time
from collections import Counter
from dataclasses import dataclass

from django.conf import settings
from django.core.cache.backends.locmem import LocMemCache

from broadcasting.conf import realtime_setting
from broadcasting.presence.counts import PROCESS_ID, SHARED_WRITE_DELAY_SECS
from broadcasting.runtime.circuit import Circuit
from broadcasting.runtime.loop_redis import LoopRedis
from broadcasting.runtime.per_loop import LoopTask
from broadcasting.runtime.shared_cache import shared_cache
from broadcasting.sockets.handshake import Refused
from broadcasting.wire.protocol import ErrorCode

logger = logging.getLogger(__name__)

CONNECT_WINDOW_SECS = 60
# A frozen Redis may cost a handshake this much once per Circuit interval, as the shared
# cache's connect-rate count does.
SHARED_COUNT_TIMEOUT_SECS = 0.5

RATE_REFUSED = ":rate"  # what ADMIT_SCRIPT answers past the connect rate

# KEYS: the processes' sorted set, this process's hash, the address's connect count (the
# cache's key). ARGV: this process's id, the TTL, the hash key prefix, the connect limit,
# the count's TTL, the number R of releases, R (field, count) pairs of sockets closed
# since the last write, then (field, limit) pairs. Applies the releases; returns
# RATE_REFUSED past the connect rate, else the first field at its limit, or counts the
# socket under every field and returns nothing.
ADMIT_SCRIPT = """
local processes, own, rate = KEYS[1], KEYS[2], KEYS[3]
local process_id, ttl, prefix = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local first_cap = 7 + 2 * tonumber(ARGV[6])
for i = 7, first_cap - 1, 2 do
  if redis.call('HINCRBY', own, ARGV[i], -tonumber(ARGV[i + 1])) <= 0 then redis.call('HDEL', own, ARGV[i]) end
end
if redis.call('INCR', rate) == 1 then redis.call('EXPIRE', rate, tonumber(ARGV[5])) end
if tonumber(redis.call('GET', rate)) > tonumber(ARGV[4]) then return ':rate' end
local now = tonumber(redis.call('TIME')[1])
redis.call('ZREMRANGEBYSCORE', processes, '-inf', now)
local members = redis.call('ZRANGE', processes, 0, -1)
for i = first_cap, #ARGV, 2 do
  local total = 0
  for _, member in ipairs(members) do
    total = total + tonumber(redis.call('HGET', prefix .. member, ARGV[i]) or '0')
  end
  if total >= tonumber(ARGV[i + 1]) then return ARGV[i] end
end
for i = first_cap, #ARGV, 2 do redis.call('HINCRBY', own, ARGV[i], 1) end
redis.call('EXPIRE', own, ttl)
redis.call('ZADD', processes, now + ttl, process_id)
return false
"""

# KEYS: this process's hash. ARGV: (field, count) pairs of the sockets closed since the last write.
RELEASE_SCRIPT = """
for i = 1, #ARGV, 2 do
  if redis.call('HINCRBY', KEYS[1], ARGV[i], -tonumber(ARGV[i + 1])) <= 0 then redis.call('HDEL', KEYS[1], ARGV[i]) end
end
"""


# KEYS: the processes' sorted set, this process's hash. ARGV: this process's id, the TTL,
# then (field, count) pairs: this process's counts as it holds them in memory.
REFRESH_SCRIPT = """
local processes, own = KEYS[1], KEYS[2]
local ttl = tonumber(ARGV[2])
redis.call('DEL', own)
for i = 3, #ARGV, 2 do redis.call('HSET', own, ARGV[i], ARGV[i + 1]) end
redis.call('EXPIRE', own, ttl)
redis.call('ZADD', processes, tonumber(redis.call('TIME')[1]) + ttl, ARGV[1])
"""


@dataclass(frozen=True)
class SocketHolder:
    """What a socket counts against: its address and, if signed in, its user."""

    address: str
    user_pk: object | None

    def fields(self) -> list[tuple[str, str]]:
        """(Redis hash field, the name of its cap) for each count this socket is in."""
        fields = [(f"address:{self.address}", "MAX_SOCKETS_PER_ADDRESS")]
        if self.user_pk is not None:
            fields.append((f"user:{self.user_pk}", "MAX_SOCKETS_PER_USER"))
        return fields


REFUSALS = {
    "MAX_SOCKETS_PER_ADDRESS": "Too many sockets open from your address.",
    "MAX_SOCKETS_PER_USER": "Too many sockets open for your account.",
}


def _keys() -> tuple[str, str]:
    """(the sorted set of processes holding sockets, the prefix of each one's hash)."""
    base = f"{settings.REDIS_KEY_PREFIX}:socket_holders"
    return f"{base}:processes", f"{base}:"


class SocketLimits:
    def __init__(self) -> None:
        self.by_field: Counter[str] = Counter()  # this process's sockets, by SocketHolder field
        self.cache_circuit = Circuit("The socket connect rate's cache")
        self.redis_circuit = Circuit("The shared socket caps' Redis")
        self._clients = LoopRedis()
        self._refresher = LoopTask(self._refresh_forever)
        # Closed sockets' fields not yet written to Redis, and the task that will write them.
        self._unreleased: Counter[str] = Counter()
        self._release_flush: asyncio.TimerHandle | None = None
        self._releasing: set[asyncio.Task] = set()

    async def admit(self, holder: SocketHolder) -> str | None:
        """
        Called on a handshake before the socket is accepted: count it and return None,
        or return why it is refused (it is then not counted).
        """
        full = await self._full_field(holder)
        if full == RATE_REFUSED:
            return "Too many connections opened from your address in the last minute; retry later."
        if full is not None:
            return REFUSALS[full]
        for field, _ in holder.fields():
            self.by_field[field] += 1
        return None

    async def hold(self, address: str, user_pk: object | None) -> SocketHolder:
        """The holder of an admitted socket; raises Refused (too_many_connections) past a cap."""
        holder = SocketHolder(address, user_pk)
        refusal = await self.admit(holder)
        if refusal is not None:
            raise Refused(ErrorCode.TOO_MANY_CONNECTIONS, refusal)
        return holder

    def release(self, holder: SocketHolder) -> None:
        """Called once when an admitted socket is gone; Redis hears of it with the next admission, or soon."""
        for field, _ in holder.fields():
            self.by_field[field] -= 1
            if self.by_field[field] <= 0:
                del self.by_field[field]
            if settings.REDIS_URL:
                self._unreleased[field] += 1
        if self._unreleased and self._release_flush is None:
            self._release_flush = asyncio.get_running_loop().call_later(SHARED_WRITE_DELAY_SECS, self._flush_releases)

    def _take_unreleased(self) -> list[str | int]:
        """The pending releases as (field, count) arguments, handed to whichever write goes first."""
        pairs: list[str | int] = []
        for field, count in self._unreleased.items():
            pairs += [field, count]
        self._unreleased.clear()
        if self._release_flush is not None:
            self._release_flush.cancel()
            self._release_flush = None
        return pairs

    def _flush_releases(self) -> None:
        self._release_flush = None
        task = asyncio.get_running_loop().create_task(self._release_shared(self._take_unreleased()))
        self._releasing.add(task)
        task.add_done_callback(self._releasing.discard)

    async def _full_field(self, holder: SocketHolder) -> str | None:
        """RATE_REFUSED, the name of the cap this socket would pass, or None (and it is counted in Redis)."""
        if settings.REDIS_URL and self.redis_circuit.closed():
            try:
                return await self._admit_shared(holder)
            except Exception as error:
                self.redis_circuit.failed(error)
        if not await self._connect_allowed_here(holder.address):
            return RATE_REFUSED
        for field, limit_name in holder.fields():
            if self.by_field[field] >= _process_share(limit_name):
                return limit_name
        return None

    async def _admit_shared(self, holder: SocketHolder) -> str | None:
        processes, hash_prefix = _keys()
        releases = self._take_unreleased()
        arguments: list[str | int] = [
            PROCESS_ID,
            int(realtime_setting("PRESENCE_TTL_SECS")),
            hash_prefix,
            realtime_setting("CONNECTS_PER_ADDRESS_PER_MIN"),
            CONNECT_WINDOW_SECS * 2,
            len(releases) // 2,
            *releases,
        ]
        limit_of_field = {RATE_REFUSED: RATE_REFUSED}
        for field, limit_name in holder.fields():
            arguments += [field, realtime_setting(limit_name)]
            limit_of_field[field] = limit_name
        script = self._clients.script(settings.REDIS_URL, ADMIT_SCRIPT)
        keys = [processes, hash_prefix + PROCESS_ID, _connect_count_key(holder.address)]
        full = await asyncio.wait_for(script(keys=keys, args=arguments), SHARED_COUNT_TIMEOUT_SECS)
        self._refresher.ensure()
        return limit_of_field[full.decode()] if full else None

    async def _release_shared(self, pairs: list[str | int]) -> None:
        if not pairs:
            return
        _, hash_prefix = _keys()
        try:
            await self._clients.script(settings.REDIS_URL, RELEASE_SCRIPT)(keys=[hash_prefix + PROCESS_ID], args=pairs)
        except Exception as error:  # the next refresh writes the counts again
            logger.warning("Could not release closed sockets' counts in Redis: %s", error)

    async def _refresh_forever(self) -> None:
        """Keep this process's counts alive in Redis, and rewrite them from memory (after a flush, a failed release)."""
        while self.by_field:
            await asyncio.sleep(realtime_setting("PRESENCE_REFRESH_SECS"))
            processes, hash_prefix = _keys()
            arguments: list[str | int] = [PROCESS_ID, int(realtime_setting("PRESENCE_TTL_SECS"))]
            for field, count in self.by_field.items():
                arguments += [field, count]
            self._take_unreleased()  # the counts written here already leave them out
            try:
                script = self._clients.script(settings.REDIS_URL, REFRESH_SCRIPT)
                await script(keys=[processes, hash_prefix + PROCESS_ID], args=arguments)
            except Exception as error:
                logger.warning("Could not refresh the socket caps' counts in Redis: %s", error)

    async def _connect_allowed_here(self, address: str) -> bool:
        """
        Count this connect without Redis (none, or failing): in the process's cache, in
        place when it is in memory (no thread). A cache that fails lets it through.
        """
        if not self.cache_circuit.closed():
            return True
        # While Redis fails, each process counts its own share.
        cache = local_connect_counts if settings.REDIS_URL else shared_cache()
        limit = realtime_setting("CONNECTS_PER_ADDRESS_PER_MIN")
        key = _connect_count_key(address, made=False)
        try:
            if isinstance(cache, LocMemCache):
                cache.add(key, 0, timeout=CONNECT_WINDOW_SECS * 2)
                count = cache.incr(key)
            else:
                await cache.aadd(key, 0, timeout=CONNECT_WINDOW_SECS * 2)
                count = await cache.aincr(key)
        except ValueError:  # the key expired between add and incr: this is the window's first
            return True
        except Exception as error:
            self.cache_circuit.failed(error)
            return True
        return count <= (_process_share_of(limit) if cache is local_connect_counts else limit)


def _connect_count_key(address: str, made: bool = True) -> str:
    """The cache key counting an address's connects in the current minute (``made``: as Redis holds it)."""
    key = f"realtime:connects:{address}:{int(time.time() // CONNECT_WINDOW_SECS)}"
    return shared_cache().make_and_validate_key(key) if made else key


def _process_share(limit_name: str) -> int:
    """This process's share of a server-wide socket cap, when the count is not shared."""
    return _process_share_of(realtime_setting(limit_name))


def _process_share_of(limit: int) -> int:
    return max(1, limit // max(1, realtime_setting("SERVER_PROCESSES")))


# Where the connect rate is counted while the shared cache (Redis) fails.
local_connect_counts = LocMemCache("realtime-connect-counts", {})


socket_limits = SocketLimits()
