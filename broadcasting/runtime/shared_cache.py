"""
The default cache as one object per process, for the counts every request and socket
makes (socket connect rates, the API throttles).

Django keeps a cache object per asyncio context (``caches`` is an asgiref Local that
is not thread-critical), so under ASGI every WebSocket's connection task, and every
request, builds its own cache object. For RedisCache that is its own connection pool
and its own TCP connection to Redis, held as long as the task lives: an open socket
would hold a Redis connection and its memory for its whole life, and Redis refuses
clients past ``maxclients``. A redis-py client and its pool are safe to share between
tasks and threads, so one object serves them all.
"""

import functools

from django.core.cache import DEFAULT_CACHE_ALIAS, BaseCache, caches
from django.core.signals import setting_changed
from django.dispatch import receiver


@functools.cache
def shared_cache() -> BaseCache:
    """This process's default cache (made on first use, from the CACHES setting)."""
    return caches.create_connection(DEFAULT_CACHE_ALIAS)


@receiver(setting_changed)
def _forget_on_new_caches(*, setting: str, **kwargs) -> None:
    if setting == "CACHES":
        shared_cache.cache_clear()
