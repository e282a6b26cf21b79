"""
What the benchmarks share: the WebSocket clients they open, the writes they time, and
how they read a server process's CPU and memory from /proc.
"""

import asyncio
import json
import os
from collections.abc import Sequence
from pathlib import Path

import httpx
import websockets

# Handshakes in flight at once: more makes the one client process the bottleneck.
OPEN_BATCH_SOCKETS = 100


async def open_sockets(urls: Sequence[str], headers: Sequence[dict] | None = None, **connect_options) -> list:
    """Open a socket to each URL (with the headers at the same index), 100 at a time; read each connection frame."""
    options = {"open_timeout": 60, "max_queue": None, **connect_options}
    sockets: list = []
    for start in range(0, len(urls), OPEN_BATCH_SOCKETS):
        sockets += await asyncio.gather(
            *(
                websockets.connect(url, additional_headers=headers[start + n] if headers else None, **options)
                for n, url in enumerate(urls[start : start + OPEN_BATCH_SOCKETS])
            )
        )
    for socket in sockets:
        await socket.recv()  # the connection frame
    return sockets


async def read_until(socket, seq: int, counts: list[int] | None = None) -> None:
    """Read frames until the one at ``seq`` (event or sync); add bytes and frames to ``counts``."""
    while True:
        raw = await socket.recv()
        if counts is not None:
            counts[0] += len(raw)
            counts[1] += 1
        if json.loads(raw).get("seq") == seq:
            return


async def post_and_read_seq(api: httpx.AsyncClient, token: str, number: int) -> int:
    """Write one published post over REST; the posts channel's seq right after it (writes go one at a time)."""
    response = await api.post(
        "/api/posts/",
        json={"title": f"bench {number}", "published": True},
        headers={"Authorization": f"Token {token}"},
    )
    assert response.status_code == 201, response.text
    return int((await api.get("/api/posts/", params={"page_size": 1})).headers["X-Channel-Seq"])


def cpu_secs(pid: int) -> float:
    """User + system CPU seconds of a process (/proc counts them in ticks of 10 ms)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def resident_kib(pid: int) -> int:
    """The resident set of a process."""
    return int(Path(f"/proc/{pid}/status").read_text().split("VmRSS:")[1].split()[0])


def report(result: dict, output: Path | None) -> None:
    """Print one result as a JSON line, and append it to ``output`` if given."""
    line = json.dumps(result)
    print(line, flush=True)
    if output:
        with output.open("a") as file:
            file.write(line + "\n")
