"""
SocketLimits: how many sockets one address or one user may hold, and how often an
address may open one.

A handshake is refused with ``too_many_connections`` / 4429 when its address already
holds REALTIME["MAX_SOCKETS_PER_ADDRESS"] sockets or its user
REALTIME["MAX_SOCKETS_PER_USER"] on this server, or when its address has opened
REALTIME["CONNECTS_PER_ADDRESS_PER_MIN"] sockets in the current minute. Open sockets
are counted in memory by the process that holds them (a shared count would outlive a
killed process and lock its addresses out); the N worker processes of `make serve`
(REALTIME["SERVER_PROCESSES"]) each allow 1/N of the caps, and the kernel spreads
connections evenly over them, so the caps hold for the whole server. The connect rate
is counted in the cache every process shares (Redis when REDIS_URL is set), so
reconnecting, to any process, never resets a client's frame limit for free.
Load tests and benchmarks that open thousands of sockets from one address raise the
limits from the environment (``make bench`` does).
"""

import time
from collections import Counter
from dataclasses import dataclass

from .circuit import Circuit
from .conf import realtime_setting
from .shared_cache import shared_cache

CONNECT_WINDOW_SECS = 60


@dataclass(frozen=True)
class SocketHolder:
    """What a socket counts against: its address and, if signed in, its user."""

    address: str
    user_pk: object | None


class SocketLimits:
    def __init__(self) -> None:
        self.by_address: Counter[str] = Counter()
        self.by_user: Counter[object] = Counter()
        self.cache_circuit = Circuit("The socket connect rate's cache")

    async def admit(self, holder: SocketHolder) -> str | None:
        """
        Called on a handshake before the socket is accepted: count it and return None,
        or return why it is refused (it is then not counted).
        """
        if not await self._connect_allowed(holder.address):
            return "Too many connections opened from your address in the last minute; retry later."
        if self.by_address[holder.address] >= _process_share("MAX_SOCKETS_PER_ADDRESS"):
            return "Too many sockets open from your address."
        if holder.user_pk is not None and self.by_user[holder.user_pk] >= _process_share("MAX_SOCKETS_PER_USER"):
            return "Too many sockets open for your account."
        self.by_address[holder.address] += 1
        if holder.user_pk is not None:
            self.by_user[holder.user_pk] += 1
        return None

    def release(self, holder: SocketHolder) -> None:
        """Called once when an admitted socket is gone."""
        _decrement(self.by_address, holder.address)
        if holder.user_pk is not None:
            _decrement(self.by_user, holder.user_pk)

    async def _connect_allowed(self, address: str) -> bool:
        """Count this connect in the shared cache; a cache that is down lets it through (circuit.py)."""
        if not self.cache_circuit.closed():
            return True
        window = int(time.time() // CONNECT_WINDOW_SECS)
        key = f"realtime:connects:{address}:{window}"
        try:
            cache = shared_cache()
            await cache.aadd(key, 0, timeout=CONNECT_WINDOW_SECS * 2)
            count = await cache.aincr(key)
        except ValueError:  # the key expired between add and incr: this is the window's first
            return True
        except Exception as error:
            self.cache_circuit.failed(error)
            return True
        return count <= realtime_setting("CONNECTS_PER_ADDRESS_PER_MIN")


def _process_share(limit_name: str) -> int:
    """This process's share of a server-wide socket cap."""
    return max(1, realtime_setting(limit_name) // max(1, realtime_setting("SERVER_PROCESSES")))


def _decrement(counter: Counter, key: object) -> None:
    counter[key] -= 1
    if counter[key] <= 0:
        del counter[key]


socket_limits = SocketLimits()
