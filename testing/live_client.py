"""
LiveCollection: a Python client that keeps a live copy of one channel's objects, the
way the JS client does, for tests that prove nothing is lost or applied twice.

It loads the list over REST (one page, one snapshot), reads X-Channel-Seq and
X-Channel-Epoch, subscribes with ?since=&epoch=, applies every frame strictly in
seq order, reconnects with backoff when the socket drops (resuming from its last
seq), and refetches on reset. Anything out of order is recorded, not repaired, so
tests can assert there was none.
"""

import asyncio
import json
from dataclasses import dataclass, field
from urllib.parse import urlencode

import httpx
import websockets

from .contract import assert_frame_shape

MODEL_EVENTS = {"created", "updated", "deleted"}


@dataclass
class LiveCollection:
    http_url: str
    ws_url: str
    channel: str
    token: str | None = None
    # The REST list filters this copy follows, on the snapshot and the socket alike.
    filter: dict[str, str] = field(default_factory=dict)
    objects: dict[int, dict] = field(default_factory=dict)
    last_seq: int = 0
    epoch: str = ""
    applied_seqs: list[int] = field(default_factory=list)
    anomalies: list[str] = field(default_factory=list)
    resets: int = 0
    connections: int = 0
    _loaded: bool = False

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Token {self.token}"} if self.token else {}

    async def _get_list(self) -> tuple[dict[int, dict], httpx.Response]:
        """GET the whole list (one page, one snapshot): objects by id, and the response."""
        async with httpx.AsyncClient(base_url=self.http_url, timeout=30) as api:
            response = await api.get(
                f"/api/{self.channel}/", params={**self.filter, "page_size": 1000}, headers=self._headers()
            )
        response.raise_for_status()
        body = response.json()
        assert body["next"] is None, "list does not fit in one page"
        return {item["id"]: item for item in body["results"]}, response

    async def load(self) -> None:
        """Load the list and take its seq as the starting point."""
        self.objects, response = await self._get_list()
        self.last_seq = int(response.headers["X-Channel-Seq"])
        self.epoch = response.headers["X-Channel-Epoch"]
        self._loaded = True

    async def follow(self, stop: asyncio.Event) -> None:
        """Stay subscribed until ``stop`` is set, reconnecting and resuming as needed."""
        if not self._loaded:
            await self.load()
        backoff_secs = 0.2
        while not stop.is_set():
            query = urlencode({**self.filter, "since": self.last_seq, "epoch": self.epoch})
            url = f"{self.ws_url}/ws/{self.channel}?{query}"
            try:
                async with websockets.connect(url, additional_headers=self._headers(), open_timeout=5) as socket:
                    self.connections += 1
                    backoff_secs = 0.2
                    await self._read(socket, stop)
            except (OSError, websockets.WebSocketException, TimeoutError):
                pass
            if not stop.is_set():
                await asyncio.sleep(backoff_secs)
                backoff_secs = min(backoff_secs * 2, 2.0)

    async def _read(self, socket, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                raw = await asyncio.wait_for(socket.recv(), 0.5)
            except TimeoutError:
                continue
            frame = assert_frame_shape(json.loads(raw))
            if frame["type"] == "reset":
                self.resets += 1
                await self.load()
                return  # reconnect from the fresh snapshot
            self.apply(frame)

    def apply(self, frame: dict) -> None:
        frame_type = frame["type"]
        if frame_type in {"connection", "pong", "stats", "error"}:
            return
        seq = frame["seq"]
        if frame_type == "sync" and seq == self.last_seq:
            return  # idle heartbeat: nothing missed
        if frame_type == "sync" and self.filter and seq > self.last_seq:
            self.last_seq = seq  # a filtered socket's skipped stretch
            return
        if seq != self.last_seq + 1:
            self.anomalies.append(f"seq {seq} after {self.last_seq} ({frame_type})")
            if seq <= self.last_seq:
                return
        if frame_type in MODEL_EVENTS:
            item_id = frame["data"]["id"]
            if frame_type == "created" and item_id in self.objects:
                self.anomalies.append(f"created {item_id} twice (seq {seq})")
            if frame_type == "updated" and item_id not in self.objects:
                self.anomalies.append(f"updated unknown {item_id} (seq {seq})")
            if frame_type == "deleted":
                if self.objects.pop(item_id, None) is None and self.filter:
                    self.anomalies.append(f"deleted unknown {item_id} (seq {seq})")
            else:
                self.objects[item_id] = frame["data"]
        self.last_seq = seq
        self.applied_seqs.append(seq)

    async def wait_for_seq(self, seq: int, timeout_secs: float) -> None:
        deadline = asyncio.get_running_loop().time() + timeout_secs
        while self.last_seq < seq:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{self.channel} client stuck at seq {self.last_seq}, wanted {seq}")
            await asyncio.sleep(0.05)

    async def fetch_truth(self) -> dict[int, dict]:
        """The list as REST shows it now (compare with ``objects``)."""
        objects, _ = await self._get_list()
        return objects


async def until_following(
    collections: list[LiveCollection], following: list[asyncio.Task], timeout_secs: float = 10
) -> None:
    """Wait until every collection has its socket open (so it loaded before what comes next)."""
    async with asyncio.timeout(timeout_secs):
        while not all(collection.connections for collection in collections):
            for task in following:
                if task.done():
                    task.result()  # surfaces why a client could not follow
            await asyncio.sleep(0.02)
