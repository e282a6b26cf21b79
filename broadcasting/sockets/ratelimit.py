"""
TokenBucket: how many frames a client may send to its socket.

Each socket gets a bucket of REALTIME["CLIENT_FRAME_BURST"] tokens refilled at
REALTIME["CLIENT_FRAMES_PER_SEC"]; a frame takes one. A client that runs dry gets an
``error`` frame with code ``rate_limited`` and the socket is closed with 4429, so one
misbehaving client cannot keep a server process busy answering pings and stats.
"""

import time
from collections.abc import Callable

from broadcasting.conf import realtime_setting


class TokenBucket:
    def __init__(self, rate_per_sec: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate_per_sec = rate_per_sec
        self.burst = burst
        self.clock = clock
        self.tokens = float(burst)
        self.updated_at = clock()

    @classmethod
    def for_client_frames(cls) -> "TokenBucket":
        """A socket's bucket, as REALTIME["CLIENT_FRAMES_PER_SEC"] and ["CLIENT_FRAME_BURST"] say."""
        return cls(realtime_setting("CLIENT_FRAMES_PER_SEC"), realtime_setting("CLIENT_FRAME_BURST"))

    def take(self) -> bool:
        """Take one token if there is one; return whether there was."""
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.updated_at) * self.rate_per_sec)
        self.updated_at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True
