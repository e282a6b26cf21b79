"""
Circuit: call a shared service (Redis) for work that may be skipped, and after it
fails, skip it for a while instead of waiting on it again.

Used where a Redis outage must cost nothing: the throttles' and connect-rate counts in
the shared cache (skipped: the request or socket goes on uncounted) and the event
sender's publishing (skipped: sockets get the events from the history). After a
failure the circuit is open for ``retry_secs``, so a frozen Redis costs one timeout per
process per interval, not one per request or per event.
"""

import logging
import time

logger = logging.getLogger(__name__)

RETRY_SECS = 5.0


class Circuit:
    def __init__(self, name: str, retry_secs: float = RETRY_SECS) -> None:
        self.name = name
        self.retry_secs = retry_secs
        self.open_until = 0.0

    def closed(self) -> bool:
        """Whether the service may be called now."""
        return time.monotonic() >= self.open_until

    def failed(self, error: Exception, retry_secs: float | None = None) -> None:
        """Called when a call failed: skip the service for ``retry_secs`` (logged once per opening)."""
        retry_secs = self.retry_secs if retry_secs is None else retry_secs
        if self.closed():
            logger.warning("%s failed (%s); skipping it for %.0fs.", self.name, error, retry_secs)
        self.open_until = time.monotonic() + retry_secs

    def succeeded(self) -> None:
        """Called when a call the circuit let through anyway (a probe) worked: call the service again."""
        if self.open_until:
            logger.warning("%s works again.", self.name, extra={"event": "reconnected", "service": self.name})
            from broadcasting.metrics import redis_reconnects

            redis_reconnects.labels(self.name).inc()
        self.open_until = 0.0
