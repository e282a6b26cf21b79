"""
Where presence is kept: who holds a socket on which channel, in every server process.

A *member* is one signed-in user held by one process on one channel, however many
sockets (tabs) that process has for them. A user is present while any process holds
them; anonymous sockets are only counted, per process. presence/tracker.py decides when a
process holds or releases a user; a store answers, atomically, whether that made the
user present or gone anywhere, so exactly one process announces each join and leave.

- ``InMemoryPresenceStore``: one server process (the in-memory channel layer); the
  process's own holdings are the whole truth.
- ``RedisPresenceStore``: any number of processes on Redis. Per channel, a sorted set
  of members (``<process>|<user>``, scored by when they expire), a hash of how many
  processes hold each user, and a hash of each process's anonymous count. A process
  refreshes its members every REALTIME["PRESENCE_REFRESH_SECS"]; members of a process
  that died (no refresh) expire after REALTIME["PRESENCE_TTL_SECS"] and the next
  ``sweep`` (any process with sockets on the channel runs one as often) takes them out,
  reporting the users who left with them. Each operation is one Lua script, so
  concurrent processes never both announce (or both miss) a join or a leave. Expiry
  uses Redis's clock, not the processes'.
"""

from dataclasses import dataclass, field
from typing import Protocol

import redis.asyncio as aioredis
from django.conf import settings
from redis.commands.core import AsyncScript

from broadcasting.conf import realtime_setting
from broadcasting.runtime.loop_redis import LoopRedis

# Holding: ARGV = process, ttl secs, anonymous count (-1: leave as is), users...
# Returns the users this made present anywhere (a process's first hold of them, or a
# hold again after a sweep took them out: a freeze longer than the TTL).
HOLD_SCRIPT = """
local now = redis.call('TIME')
local expiry = tonumber(now[1]) + tonumber(now[2]) / 1000000 + tonumber(ARGV[2])
local process = ARGV[1]
local joined = {}
for i = 4, #ARGV do
  if redis.call('ZADD', KEYS[1], expiry, process .. '|' .. ARGV[i]) == 1 then
    if redis.call('HINCRBY', KEYS[2], ARGV[i], 1) == 1 then
      table.insert(joined, ARGV[i])
    end
  end
end
local anonymous = tonumber(ARGV[3])
if anonymous > 0 then
  redis.call('HSET', KEYS[3], process, anonymous)
  redis.call('ZADD', KEYS[1], expiry, process .. '|')
elseif anonymous == 0 then
  redis.call('HDEL', KEYS[3], process)
  redis.call('ZREM', KEYS[1], process .. '|')
end
local keep_secs = math.ceil(tonumber(ARGV[2]) * 2)
for i = 1, 3 do redis.call('EXPIRE', KEYS[i], keep_secs) end
return joined
"""

# ARGV = process, user. Returns 1 when the user is now held by no process: gone.
RELEASE_SCRIPT = """
if redis.call('ZREM', KEYS[1], ARGV[1] .. '|' .. ARGV[2]) == 1 then
  if redis.call('HINCRBY', KEYS[2], ARGV[2], -1) <= 0 then
    redis.call('HDEL', KEYS[2], ARGV[2])
    return 1
  end
end
return 0
"""

# Takes out the members that were not refreshed in time; returns the users now gone.
SWEEP_SCRIPT = """
local now = redis.call('TIME')
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', tonumber(now[1]) + tonumber(now[2]) / 1000000)
local left = {}
for _, member in ipairs(expired) do
  redis.call('ZREM', KEYS[1], member)
  local bar = string.find(member, '|', 1, true)
  local process = string.sub(member, 1, bar - 1)
  local user = string.sub(member, bar + 1)
  if user == '' then
    redis.call('HDEL', KEYS[3], process)
  elseif redis.call('HINCRBY', KEYS[2], user, -1) <= 0 then
    redis.call('HDEL', KEYS[2], user)
    table.insert(left, user)
  end
end
return left
"""

KEEP_ANONYMOUS_COUNT = -1


@dataclass
class ChannelPresenceState:
    """Who is on one channel: users present, and anonymous sockets, in all processes."""

    users: list[str] = field(default_factory=list)
    anonymous: int = 0


class PresenceStore(Protocol):
    async def hold(self, process: str, channel: str, users: list[str], anonymous: int) -> list[str]:
        """
        ``process`` holds ``users`` and ``anonymous`` sockets (KEEP_ANONYMOUS_COUNT: as
        they were); returns the users this made present, who were not before.
        """

    async def release(self, process: str, channel: str, user: str) -> bool:
        """``process`` no longer holds ``user``; True when no process does: they left."""

    async def sweep(self, channel: str) -> list[str]:
        """Take out the members of processes gone silent; returns the users who left with them."""

    async def is_present(self, channel: str, user: str) -> bool:
        """Whether any process holds ``user`` on ``channel``."""

    async def state(self, channel: str) -> ChannelPresenceState: ...


class InMemoryPresenceStore:
    """One server process: presence is what its sockets hold."""

    def __init__(self) -> None:
        self._holders: dict[str, dict[str, set[str]]] = {}  # channel -> user -> processes
        self._anonymous: dict[str, dict[str, int]] = {}  # channel -> process -> count

    async def hold(self, process: str, channel: str, users: list[str], anonymous: int) -> list[str]:
        holders = self._holders.setdefault(channel, {})
        joined = []
        for user in users:
            processes = holders.setdefault(user, set())
            if not processes:
                joined.append(user)
            processes.add(process)
        if anonymous != KEEP_ANONYMOUS_COUNT:
            self._anonymous.setdefault(channel, {})[process] = anonymous
        return joined

    async def release(self, process: str, channel: str, user: str) -> bool:
        holders = self._holders.get(channel, {})
        processes = holders.get(user)
        if not processes or process not in processes:
            return False
        processes.discard(process)
        if processes:
            return False
        del holders[user]
        return True

    async def sweep(self, channel: str) -> list[str]:
        return []  # no other process can die under this one

    async def is_present(self, channel: str, user: str) -> bool:
        return bool(self._holders.get(channel, {}).get(user))

    async def state(self, channel: str) -> ChannelPresenceState:
        return ChannelPresenceState(
            sorted(self._holders.get(channel, {}), key=user_order),
            sum(self._anonymous.get(channel, {}).values()),
        )


def user_order(user: str) -> tuple[int, str]:
    """Users by pk: numerically when the pks are numbers."""
    return (int(user), user) if user.isdigit() else (0, user)


class RedisPresenceStore:
    """Every server process sharing REDIS_URL."""

    def __init__(self, url: str, key_prefix: str, ttl_secs: float) -> None:
        self.url = url
        self.key_prefix = key_prefix
        self.ttl_secs = ttl_secs
        self._clients = LoopRedis(decode_responses=True)

    def _redis(self) -> aioredis.Redis:
        return self._clients.client(self.url)

    def _script(self, source: str) -> AsyncScript:
        return self._clients.script(self.url, source)

    def keys(self, channel: str) -> list[str]:
        """The channel's members, users and anonymous keys (one hash slot: a cluster runs the scripts too)."""
        base = f"{self.key_prefix}:presence:{{{channel}}}"
        return [f"{base}:members", f"{base}:users", f"{base}:anonymous"]

    async def hold(self, process: str, channel: str, users: list[str], anonymous: int) -> list[str]:
        args: list[str | float] = [process, self.ttl_secs, anonymous, *users]
        return list(await self._script(HOLD_SCRIPT)(keys=self.keys(channel), args=args))

    async def release(self, process: str, channel: str, user: str) -> bool:
        return bool(await self._script(RELEASE_SCRIPT)(keys=self.keys(channel)[:2], args=[process, user]))

    async def sweep(self, channel: str) -> list[str]:
        return list(await self._script(SWEEP_SCRIPT)(keys=self.keys(channel)))

    async def is_present(self, channel: str, user: str) -> bool:
        return bool(await self._redis().hexists(self.keys(channel)[1], user))

    async def state(self, channel: str) -> ChannelPresenceState:
        _, users_key, anonymous_key = self.keys(channel)
        async with self._redis().pipeline(transaction=True) as pipe:
            pipe.hkeys(users_key)
            pipe.hvals(anonymous_key)
            users, anonymous_counts = await pipe.execute()
        return ChannelPresenceState(sorted(users, key=user_order), sum(int(count) for count in anonymous_counts))


def store_from_settings() -> PresenceStore:
    """Redis with REDIS_URL (every process), else this process's memory."""
    if settings.REDIS_URL:
        return RedisPresenceStore(settings.REDIS_URL, settings.REDIS_KEY_PREFIX, realtime_setting("PRESENCE_TTL_SECS"))
    return InMemoryPresenceStore()
