"""
The price of a live write: REST writes/s and write latency with broadcasting on and
off (REALTIME_BROADCAST), with 0 and 1,000 sockets open, and the server's CPU per write, on `make serve` (one worker,
in-memory layer, SQLite) and the FastAPI guide's design (bench/reference_app.py).

A writer process of its own keeps CONCURRENCY POSTs to the users list in flight for
``--secs`` seconds; this process holds the sockets (on /ws/users) and reads them. The
write-path issue's target: broadcasting on costs at most 1.3x off.

    .venv/bin/python bench/write_price.py --sockets 0 1000 --secs 10
"""

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

import httpx

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

from bench.delivery import (  # noqa: E402
    Target,
    in_writer_process,
    open_target_sockets,
    percentile,
    project_target,
    raise_open_files_limit,
    reference_target,
)

CONCURRENCY = 4


def write_for(base_url: str, path: str, headers: dict, secs: float, results) -> None:
    """In a writer process: CONCURRENCY writers POST for ``secs``; send back the latencies."""

    async def writers() -> list[float]:
        latencies: list[float] = []
        deadline = time.monotonic() + secs
        async with httpx.AsyncClient(base_url=base_url, timeout=60, headers=headers) as api:

            async def one_writer(number: int) -> None:
                count = 0
                while time.monotonic() < deadline:
                    count += 1
                    started = time.perf_counter()
                    email = f"w{number}-{count}-{time.time_ns()}@bench.example"
                    response = await api.post(path, json={"email": email, "name": "Bench"})
                    latencies.append(time.perf_counter() - started)
                    if response.status_code != 201:
                        raise RuntimeError(f"{response.status_code}: {response.text[:300]}")

            await asyncio.gather(*(one_writer(number) for number in range(CONCURRENCY)))
        return latencies

    try:
        results.send(asyncio.run(writers()))
    except Exception as error:
        results.send(error)


async def drain(socket) -> None:
    try:
        async for _ in socket:
            pass
    except Exception:
        return


async def measure(target: Target, sockets_count: int, secs: float) -> dict:
    sockets = await open_target_sockets(target, sockets_count) if sockets_count else []
    readers = [asyncio.create_task(drain(socket)) for socket in sockets]
    headers = {"Authorization": f"Token {target.token}"} if target.token else {}
    path = "/api/users/" if target.project else "/users/"
    cpu_before = target.cpu_secs()
    latencies = await in_writer_process(write_for, target.http_url, path, headers, secs)
    server_cpu_secs = target.cpu_secs() - cpu_before
    if isinstance(latencies, Exception):
        raise latencies
    for reader in readers:
        reader.cancel()
    await asyncio.gather(*(socket.close() for socket in sockets), return_exceptions=True)
    return {
        "target": target.name,
        "sockets": sockets_count,
        "writes_per_sec": round(len(latencies) / secs, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        # Every server process's CPU over the writes (and their deliveries), per write.
        "server_cpu_ms_per_write": round(server_cpu_secs / len(latencies) * 1000, 2),
    }


async def main() -> None:
    raise_open_files_limit()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sockets", type=int, nargs="+", default=[0, 1000])
    parser.add_argument("--secs", type=float, default=10.0)
    parser.add_argument("--output", type=Path, help="append JSON lines here")
    args = parser.parse_args()
    limits = {"API_THROTTLE_USER": "1000000/minute"}  # the writers are one user
    targets = [
        ("serve-broadcast-on", lambda: project_target("serve-broadcast-on", "serve", 1, None, limits)),
        (
            "serve-broadcast-off",
            lambda: project_target("serve-broadcast-off", "serve", 1, None, {**limits, "REALTIME_BROADCAST": "0"}),
        ),
        ("reference", reference_target),
    ]
    for sockets_count in args.sockets:
        for _, make in targets:
            target = make()
            target.start()
            try:
                row = await measure(target, sockets_count, args.secs)
            finally:
                target.stop()
            print(json.dumps(row), flush=True)
            if args.output:
                with args.output.open("a") as output:
                    output.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    asyncio.run(main())
