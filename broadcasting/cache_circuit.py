"""
CacheCircuit: use the shared cache for counting, but never let it take a request down.

Throttles and connect-rate counts live in the cache all processes share (Redis when
REDIS_URL is set). If that cache fails (Redis down, frozen, unreachable) counting is
skipped and the request or socket goes on: a Redis outage must never turn a write into
a 500 or refuse every socket. After a failure the circuit stays open for
CACHE_RETRY_SECS, so a frozen Redis costs one timeout per process per interval, not
one per request.
"""

import logging
import time

logger = logging.getLogger(__name__)

CACHE_RETRY_SECS = 5.0


class CacheCircuit:
    def __init__(self, name: str, retry_secs: float = CACHE_RETRY_SECS) -> None:
        self.name = name
        self.retry_secs = retry_secs
        self.open_until = 0.0

    def closed(self) -> bool:
        """Whether the cache may be used now."""
        return time.monotonic() >= self.open_until

    def failed(self, error: Exception) -> None:
        """Called when a cache call failed: skip the cache for a while (logged once per opening)."""
        if self.closed():
            logger.warning("%s: the cache failed (%s); not counting for %.0fs.", self.name, error, self.retry_secs)
        self.open_until = time.monotonic() + self.retry_secs
