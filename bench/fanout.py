"""
Fan-out benchmark: how long a committed write takes to reach N sockets of one process.

Starts a real daphne process (in-memory layer, or channels-redis with --redis URL) on
a fresh SQLite database (or DATABASE_URL), opens N WebSocket clients to /ws/posts from
this process, then makes K writes over REST one after another. For each write it
measures, from just before the POST until each socket has the event frame:

- the REST round trip (the write, its commit and the publish);
- the latency to the median socket and to the last socket.

It also reads the server's resident memory before and after opening the sockets.
Results are medians over the K writes; the machine is shared, so compare runs made
in one sitting. Run:  .venv/bin/python bench/fanout.py --sockets 1000 2000 --events 20
"""

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.clients import open_sockets, resident_kib
from testing.live_server import LiveStack, base_env


async def wait_for_seq(socket, seq: int, started: float) -> float:
    while True:
        frame = json.loads(await socket.recv())
        if frame.get("seq") == seq and frame["type"] == "created":
            return time.perf_counter() - started


async def run(sockets_count: int, events: int, redis_url: str | None, work_dir: Path) -> dict:
    env = base_env()
    env["DATABASE_URL"] = os.environ.get("DATABASE_URL") or f"sqlite:///{work_dir / f'bench-{sockets_count}.sqlite3'}"
    if redis_url:
        env["REDIS_URL"] = redis_url
        env["REDIS_KEY_PREFIX"] = f"bench{os.getpid()}"
    stack = LiveStack(env=env, work_dir=work_dir)
    stack.manage("migrate", "--noinput")
    token = stack.create_user(f"bench{time.time_ns()}@example.com", staff=True)
    server = stack.start_server()
    try:
        rss_before = resident_kib(server.process.pid)
        sockets = await open_sockets([f"{server.ws_url}/ws/posts"] * sockets_count)
        await asyncio.sleep(1)
        rss_after = resident_kib(server.process.pid)
        rest_ms, median_ms, last_ms = [], [], []
        async with httpx.AsyncClient(base_url=server.http_url, timeout=60) as api:
            for n in range(events):
                started = time.perf_counter()
                waiting = None
                response = await api.post(
                    "/api/posts/",
                    json={"title": f"bench {n}", "published": True},
                    headers={"Authorization": f"Token {token}"},
                )
                rest_ms.append((time.perf_counter() - started) * 1000)
                seq = int((await api.get("/api/posts/", params={"page_size": 1})).headers["X-Channel-Seq"])
                assert response.status_code == 201
                waiting = [wait_for_seq(socket, seq, started) for socket in sockets]
                latencies = sorted(await asyncio.gather(*waiting))
                median_ms.append(statistics.median(latencies) * 1000)
                last_ms.append(latencies[-1] * 1000)
                await asyncio.sleep(0.2)
        for socket in sockets:
            await socket.close()
        return {
            "layer": "redis" if redis_url else "in-memory",
            "sockets": sockets_count,
            "events": events,
            "rest_ms_median": round(statistics.median(rest_ms), 1),
            "median_socket_ms_median": round(statistics.median(median_ms), 1),
            "last_socket_ms_median": round(statistics.median(last_ms), 1),
            "last_socket_ms_max": round(max(last_ms), 1),
            "server_rss_mib_before": round(rss_before / 1024, 1),
            "server_rss_mib_after": round(rss_after / 1024, 1),
            "kib_per_socket": round((rss_after - rss_before) / sockets_count, 1),
        }
    finally:
        stack.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sockets", type=int, nargs="+", default=[100, 1000, 2000])
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--redis", default=None, help="a Redis URL: benchmark channels-redis instead of in-memory")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work_dir:
        for count in args.sockets:
            result = asyncio.run(run(count, args.events, args.redis, Path(work_dir)))
            print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
