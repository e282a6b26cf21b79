"""
Which Redis the project uses, and the one place its clients are built from: a plain
``REDIS_URL``, or a master that Redis Sentinel watches (``REDIS_SENTINELS``,
``REDIS_SENTINEL_MASTER``), so that after a failover every client (the channel layer,
presence, socket counts and caps, the cache, the health check) finds the promoted
replica by asking the sentinels again.

Elsewhere the code names its Redis by ``settings.REDIS_URL``; with Sentinel that is
``redis+sentinel://<master>/<db>``, which only the builders here open.
"""

import logging
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import redis
import redis.asyncio as aioredis
from redis.connection import parse_url

SENTINEL_SCHEME = "redis+sentinel"
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RedisTarget:
    """The configured Redis (none, one URL, or Sentinel's master), from the environment."""

    url: str = ""
    sentinels: tuple[tuple[str, int], ...] = ()
    master: str = ""
    password: str | None = None  # of the master and replicas (REDIS_PASSWORD)
    sentinel_password: str | None = None  # of the sentinels themselves (REDIS_SENTINEL_PASSWORD)
    db: int = 0

    @classmethod
    def from_env(cls, env: Any) -> "RedisTarget":
        sentinels = tuple(_host_port(item) for item in env.list("REDIS_SENTINELS", default=[]) if item.strip())
        if not sentinels:
            return cls(url=env.str("REDIS_URL", default=""))
        return cls(
            sentinels=sentinels,
            master=env.str("REDIS_SENTINEL_MASTER", default="mymaster"),
            password=env.str("REDIS_PASSWORD", default="") or None,
            sentinel_password=env.str("REDIS_SENTINEL_PASSWORD", default="") or None,
            db=env.int("REDIS_DB", default=0),
        )

    @property
    def address(self) -> str:
        """What settings.REDIS_URL holds: the URL, ``redis+sentinel://master/db``, or "" for none."""
        if self.sentinels:
            return f"{SENTINEL_SCHEME}://{self.master}/{self.db}"
        return self.url

    @property
    def database_number(self) -> int:
        return self.db if self.sentinels else int(parse_url(self.url).get("db", 0)) if self.url else 0

    def layer_host(self, **options: Any) -> dict:
        """channels-redis's ``hosts`` entry (it takes sentinels natively)."""
        if not self.sentinels:
            return {"address": self.url, **options}
        return {
            "sentinels": list(self.sentinels),
            "master_name": self.master,
            "sentinel_kwargs": self._sentinel_kwargs(options),
            "password": self.password,
            "db": self.db,
            **options,
        }

    def cache_options(self, **options: Any) -> dict:
        """Django's RedisCache OPTIONS: with Sentinel, a pool class that asks the sentinels."""
        if self.sentinels:
            return {**options, "pool_class": "broadcasting.runtime.redis_target.SentinelCachePool"}
        return options

    def describe(self) -> str:
        """For the startup line: where, never a password."""
        if self.sentinels:
            where = ", ".join(f"{host}:{port}" for host, port in self.sentinels)
            return f"Redis master {self.master!r} (db {self.db}) via Sentinel at {where}"
        parts = urlsplit(self.url)
        return f"Redis ({parts.hostname}:{parts.port or 6379}{parts.path or '/0'})"

    def _sentinel_kwargs(self, options: dict) -> dict:
        kwargs = {key: options[key] for key in ("socket_timeout", "socket_connect_timeout") if key in options}
        if self.sentinel_password:
            kwargs["password"] = self.sentinel_password
        return kwargs


def _host_port(item: str) -> tuple[str, int]:
    """``host:port``, or ``host`` on Sentinel's own port."""
    host, colon, port = item.strip().rpartition(":")
    return (host, int(port)) if colon else (item.strip(), 26379)


def _target() -> RedisTarget:
    from django.conf import settings

    return settings.REDIS


# The master each process last found, shared by all its pools: one line per failover.
_known_masters: dict[str, tuple[str, int]] = {}
_known_masters_lock = threading.Lock()


def saw_master(name: str, address: tuple[str, int]) -> None:
    """Log (once per process) and count a master found at a new address: a failover."""
    address = (str(address[0]), int(address[1]))
    with _known_masters_lock:
        before = _known_masters.get(name)
        _known_masters[name] = address
    if before is None or before == address:
        return
    from broadcasting.metrics import redis_failovers

    redis_failovers.inc()
    fields = {"event": "redis_failover", "master": f"{address[0]}:{address[1]}", "previous": f"{before[0]}:{before[1]}"}
    logger.warning(
        "Redis failover: master %r is now %s (was %s).", name, fields["master"], fields["previous"], extra=fields
    )


class WatchedAsyncSentinelPool(aioredis.sentinel.SentinelConnectionPool, aioredis.BlockingConnectionPool):
    """
    Sentinel's pool, noting each master it is given (saw_master). Blocking, as LoopRedis's
    plain pools are: past max_connections a command waits for a free one, not fails.
    """

    async def get_master_address(self):
        address = await super().get_master_address()
        saw_master(self.service_name, address)
        return address


class WatchedSentinelPool(redis.sentinel.SentinelConnectionPool):
    def get_master_address(self):
        address = super().get_master_address()
        saw_master(self.service_name, address)
        return address


def _sentinel_pool(sentinel_class: type, pool_class: type, options: dict) -> Any:
    """A pool of ``pool_class`` on the configured master, found through ``sentinel_class`` (sync or asyncio)."""
    target = _target()
    sentinel = sentinel_class(list(target.sentinels), sentinel_kwargs=target._sentinel_kwargs(options))
    return pool_class(target.master, sentinel, password=target.password, db=target.db, **options)


def async_pool(address: str, **options: Any) -> aioredis.ConnectionPool:
    """A redis.asyncio pool for ``address`` (settings.REDIS_URL); LoopRedis's clients use it."""
    if not address.startswith(f"{SENTINEL_SCHEME}://"):
        return aioredis.BlockingConnectionPool.from_url(address, **options)
    return _sentinel_pool(aioredis.sentinel.Sentinel, WatchedAsyncSentinelPool, options)


class SentinelCachePool:
    """Django's RedisCache ``pool_class``: ``from_url`` of the Sentinel address, a pool on the current master."""

    @classmethod
    def from_url(cls, url: str, **options: Any) -> redis.ConnectionPool:
        return _sentinel_pool(redis.sentinel.Sentinel, WatchedSentinelPool, options)
