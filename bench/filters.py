"""
Filtered sockets: what one event costs the server when its 1,000 sockets hold 50
distinct filters, against the same 1,000 sockets unfiltered.

Starts `make serve` (one uvicorn worker, in-memory layer, DEBUG off) on a fresh SQLite
database with 50 authors, opens N sockets to /ws/posts (unfiltered) or to
/ws/posts?author=<one of the 50> (filtered: N/50 sockets per filter), then has the
authors write K posts over REST in turn, one at a time. Per write it records the time
from just before the POST until every socket the event is for has it, the server's
CPU time (user + system, from /proc) over the run, per write, and the bytes
the sockets received. A filtered socket gets only its set's events (plus one sync
before each, covering the skipped stretch), so the per-event cost should fall with the
share of sockets an event is for, not stay at the unfiltered cost.

Run:  .venv/bin/python bench/filters.py --sockets 1000 --filters 50 --events 50
"""

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.clients import cpu_secs, open_sockets, post_and_read_seq, read_until
from testing.live_server import LiveStack, base_env


async def run(mode: str, sockets_count: int, filters: int, events: int, work_dir: Path) -> dict:
    env = base_env(
        DATABASE_URL=f"sqlite:///{work_dir / f'filters-{mode}.sqlite3'}",
        DJANGO_LOG_LEVEL="WARNING",
        DJANGO_SECRET_KEY="bench-secret-key-" + "x" * 40,
        REALTIME_MAX_SOCKETS_PER_ADDRESS="100000",
        REALTIME_CONNECTS_PER_ADDRESS_PER_MIN="100000",
        API_THROTTLE_USER="100000/minute",
    )
    stack = LiveStack(env=env, work_dir=work_dir)
    stack.manage("migrate", "--noinput")
    tokens = [stack.create_user(f"author{n}@example.com") for n in range(filters)]
    ids = json.loads(
        stack.shell(
            "import json; from users.models import User; print(json.dumps("
            f"[User.objects.get(email=f'author{{n}}@example.com').pk for n in range({filters})]))"
        )
        .strip()
        .splitlines()[-1]
    )
    server = stack.start_server(kind="serve")
    try:
        urls = [
            f"{server.ws_url}/ws/posts" + (f"?author={ids[n % filters]}" if mode == "filtered" else "")
            for n in range(sockets_count)
        ]
        sockets = await open_sockets(urls)
        await asyncio.sleep(1)
        last_ms = []
        counts = [0, 0]  # bytes, frames received by all sockets
        cpu_at_start = cpu_secs(server.process.pid)
        async with httpx.AsyncClient(base_url=server.http_url, timeout=60) as api:
            for n in range(events):
                author = n % filters
                started = time.perf_counter()
                seq = await post_and_read_seq(api, tokens[author], n)
                for_it = [s for index, s in enumerate(sockets) if mode == "unfiltered" or index % filters == author]
                await asyncio.gather(*(read_until(socket, seq, counts) for socket in for_it))
                last_ms.append((time.perf_counter() - started) * 1000)
                await asyncio.sleep(0.3)  # the server finishes each write's work before the next
        # /proc counts CPU in 10 ms ticks: the mean over the run, not a median of ticks.
        cpu_ms_per_event = (cpu_secs(server.process.pid) - cpu_at_start) * 1000 / events
        for socket in sockets:
            await socket.close()
        return {
            "mode": mode,
            "sockets": sockets_count,
            "distinct_filters": filters if mode == "filtered" else 0,
            "events": events,
            "sockets_per_event": sockets_count if mode == "unfiltered" else sockets_count // filters,
            "last_socket_ms_median": round(statistics.median(last_ms), 1),
            "server_cpu_ms_per_event": round(cpu_ms_per_event, 2),
            "frames_received_per_event": round(counts[1] / events, 1),
            "kib_received_per_event": round(counts[0] / events / 1024, 1),
        }
    finally:
        stack.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--filters", type=int, default=50)
    parser.add_argument("--events", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work_dir:
        for mode in ("unfiltered", "filtered"):
            result = asyncio.run(run(mode, args.sockets, args.filters, args.events, Path(work_dir)))
            print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
