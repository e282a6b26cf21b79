"""
A deploy's reconnect storm, as clients live it: sockets that remember their last seq,
hear 1012 when their server stops, and come straight back with ``since`` (all at once,
no jitter: the worst case realtime.js's restart window spreads out). Used by the storm
test (realtime_site/tests/test_reconnect_storm.py) and benchmark (bench/storm.py).
"""

import asyncio
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import websockets

RESTART_CLOSE_CODE = 1012
# Handshakes in flight at once while opening: more makes this one client process the bottleneck.
OPEN_BATCH_SOCKETS = 100
# Events of the protocol that carry a seq and move a client's position.
SEQ_FRAMES = frozenset({"created", "updated", "deleted", "sync"})


@dataclass
class ResumingClient:
    """One socket's client: its position, what it saw, and when it came back."""

    url: str  # /ws/<channel>, without since
    headers: dict[str, str]
    last_seq: int = 0
    epoch: str | None = None
    gaps: list[tuple[int, int]] = field(default_factory=list)  # (expected, got)
    duplicates: int = 0
    closes: list[int] = field(default_factory=list)
    refused: int = 0  # attempts that did not open (the new server not up yet, a 4429)
    resumed_at: float | None = None  # monotonic time of the connection frame after a 1012

    def place(self, connection: dict) -> None:
        assert connection.get("type") == "connection", connection
        self.epoch = connection.get("epoch")
        if self.resumed_at is None and self.closes:
            self.resumed_at = time.monotonic()
        if not self.closes:
            self.last_seq = connection["seq"]

    def apply(self, frame: dict) -> None:
        if frame.get("type") not in SEQ_FRAMES:
            return
        seq = frame["seq"]
        if frame["type"] == "sync" and seq == self.last_seq:
            return  # an idle socket's heartbeat: nothing new, nothing twice
        if seq <= self.last_seq:
            self.duplicates += 1
        elif seq != self.last_seq + 1:
            self.gaps.append((self.last_seq + 1, seq))
            self.last_seq = seq
        else:
            self.last_seq = seq

    def resume_url(self) -> str:
        epoch = f"&epoch={self.epoch}" if self.epoch else ""
        return f"{self.url}?since={self.last_seq}{epoch}"

    async def follow(self, socket, stop: asyncio.Event) -> None:
        """Read until ``stop``; on a 1012 reconnect at once with since, retrying until the new server takes it."""
        while not stop.is_set():
            try:
                async for raw in socket:
                    self.apply(json.loads(raw))
            except websockets.ConnectionClosed:
                pass
            code = socket.close_code
            if stop.is_set():
                return
            self.closes.append(code)
            if code != RESTART_CLOSE_CODE:
                return
            socket = await self._reopen(stop)
            if socket is None:
                return

    async def _reopen(self, stop: asyncio.Event):
        while not stop.is_set():
            try:
                socket = await websockets.connect(
                    self.resume_url(), additional_headers=self.headers, ping_interval=None, open_timeout=60,
                    max_queue=None,
                )  # fmt: skip
                connection = json.loads(await socket.recv())
            except (OSError, websockets.InvalidHandshake, websockets.ConnectionClosed, TimeoutError):
                # InvalidHandshake: refused (a 4429) or cut mid-handshake by the server that is stopping.
                self.refused += 1
                await asyncio.sleep(0.05)
                continue
            if connection.get("type") != "connection":
                self.refused += 1
                await socket.close()
                await asyncio.sleep(0.05)
                continue
            self.place(connection)
            return socket
        return None


async def open_clients(urls: Sequence[str], headers: dict[str, str]) -> tuple[list[ResumingClient], list]:
    """One ResumingClient per URL, connected (100 handshakes at a time), placed at its connection frame's seq."""
    clients, sockets = [], []
    for start in range(0, len(urls), OPEN_BATCH_SOCKETS):
        batch = urls[start : start + OPEN_BATCH_SOCKETS]
        sockets += await asyncio.gather(
            *(
                websockets.connect(url, additional_headers=headers, ping_interval=None, open_timeout=60, max_queue=None)
                for url in batch
            )
        )
    for url, socket in zip(urls, sockets, strict=True):
        client = ResumingClient(url, headers)
        client.place(json.loads(await socket.recv()))
        clients.append(client)
    return clients, sockets


@dataclass
class StormOutcome:
    """What the clients saw: every one back, nothing lost, nothing twice."""

    sockets: int
    resumed: int
    closed_1012: int
    other_closes: list[int]
    gaps: int
    duplicates: int
    behind: int  # clients not at the channel's last seq at the end
    refused_attempts: int
    resumed_within_secs: float | None  # from the first 1012 to the last resume

    @property
    def lost(self) -> int:
        return self.gaps + self.behind


def outcome_of(clients: list[ResumingClient], final_seq: int, first_close_at: float) -> StormOutcome:
    resumed = [client.resumed_at for client in clients if client.resumed_at is not None]
    return StormOutcome(
        sockets=len(clients),
        resumed=len(resumed),
        closed_1012=sum(RESTART_CLOSE_CODE in client.closes for client in clients),
        other_closes=sorted({code for client in clients for code in client.closes if code != RESTART_CLOSE_CODE}),
        gaps=sum(len(client.gaps) for client in clients),
        duplicates=sum(client.duplicates for client in clients),
        behind=sum(client.last_seq < final_seq for client in clients),
        refused_attempts=sum(client.refused for client in clients),
        resumed_within_secs=round(max(resumed) - first_close_at, 2) if resumed else None,
    )
