"""
Reconnect storm benchmark: a deploy of `make serve` with N sockets.

`make serve` with two workers on Redis holds N sockets on /ws/users (half signed in
with a token, half anonymous on /ws/posts); a second `make serve` starts on the same
port (SO_REUSEPORT, the new release); the first gets SIGTERM and closes every socket
with 1012, and every client reconnects at once with ``since`` (testing/storm.py; no
jitter: realtime.js spreads them over its restart window, this is the worst case).
A writer process posts every 100 ms throughout. Reported:

- resumed_within_secs: from the first 1012 to the last socket's connection frame;
- lost / duplicates: seqs a client never got or got twice, by the end;
- write_ms: the writes made during the storm (median, max), and any that failed;
- new_server_cpu_ms_per_reconnect: the new server's CPU over the storm, per socket.

With ``--rest-apart`` the writes go to a `make serve` of one worker of its own, as
nginx routes /api/ apart from /ws/ in docs/deploy.md's split deployment: the storm's
handshakes and the writes then share the database and Redis but no event loop.

    .venv/bin/python bench/storm.py --sockets 5000 --postgres postgres://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/storm.py --sockets 5000 --rest-apart

Four server processes write one database here (the old release's two workers and the
new one's): on SQLite every commit then waits for the others' locks (a write took 2 s
in the profile), so the storm is measured on PostgreSQL, as docs/deploy.md has it.
"""

import argparse
import asyncio
import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

from bench.clients import report  # noqa: E402
from bench.delivery import Target, make_target, percentile, raise_open_files_limit, wait_until  # noqa: E402
from testing.live_server import (  # noqa: E402
    create_postgres_database,
    drop_postgres_database,
    free_port,
    listeners_on,
)
from testing.storm import open_clients, outcome_of  # noqa: E402

WRITE_INTERVAL_SECS = 0.1


def write_every(base_url: str, token: str, stop, results) -> None:
    """In a process of its own: a post every WRITE_INTERVAL_SECS until ``stop``; (wall time, ms or error) of each."""
    outcomes, retried = [], []
    with httpx.Client(base_url=base_url, timeout=30) as api:
        number = 0
        while not stop.is_set():
            started, wall = time.perf_counter(), time.time()
            for attempt in range(2):
                try:
                    response = api.post(
                        "/api/posts/",
                        json={"title": f"storm {number}", "published": True},
                        headers={"Authorization": f"Token {token}"},
                    )
                    outcomes.append((wall, round((time.perf_counter() - started) * 1000, 1), response.status_code))
                    break
                except (httpx.RemoteProtocolError, httpx.ReadError) as error:
                    # A kept-alive connection the old release closed as the request went out:
                    # sent again once on a new connection, as a browser does.
                    if attempt:
                        outcomes.append((wall, None, type(error).__name__))
                    retried.append(wall)
                except httpx.TransportError as error:
                    outcomes.append((wall, None, f"{type(error).__name__}: {error}"))
                    break
            number += 1
            time.sleep(max(0.0, WRITE_INTERVAL_SECS - (time.perf_counter() - started)))
    results.send((outcomes, retried))


async def storm(
    old: Target, new: Target, count: int, profile_dir: Path | None = None, rest: Target | None = None
) -> dict:
    auth = {"Authorization": f"Token {old.token}"}
    half = count // 2
    signed_in, signed_in_sockets = await open_clients([f"ws://127.0.0.1:{old.port}/ws/users"] * half, auth)
    anonymous, anonymous_sockets = await open_clients([f"ws://127.0.0.1:{old.port}/ws/posts"] * (count - half), {})
    clients, sockets = signed_in + anonymous, signed_in_sockets + anonymous_sockets
    stop = asyncio.Event()
    followers = [asyncio.create_task(c.follow(s, stop)) for c, s in zip(clients, sockets, strict=True)]

    context = multiprocessing.get_context("spawn")
    stop_writing = context.Event()
    results, writer_end = context.Pipe(duplex=False)
    write_url = rest.http_url if rest is not None else old.http_url
    writer = context.Process(target=write_every, args=(write_url, old.token, stop_writing, writer_end))
    writer.start()
    await asyncio.sleep(1.0)

    old_listeners = listeners_on(old.port)
    new.start()  # the new release, on the same port (the old one answers the readiness check)
    await wait_until(lambda: listeners_on(new.port) >= 2 * old_listeners, 60)  # both releases' workers listen
    profilers = []
    if profile_dir is not None:
        profile_dir.mkdir(parents=True, exist_ok=True)
        py_spy = Path(sys.executable).parent / "py-spy"
        for pid in new.pids()[1:]:
            command = [str(py_spy), "record", "-r", "200", "-f", "chrometrace", "--nonblocking", "--pid", str(pid),
                       "-o", str(profile_dir / f"worker-{pid}.json")]  # fmt: skip
            profilers.append(subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        await asyncio.sleep(0.5)
    new_cpu_before = new.cpu_secs()
    storm_started_wall = time.time()
    old.process.send_signal(signal.SIGTERM)
    first_close_at = time.monotonic()
    await wait_until(lambda: all(client.resumed_at is not None for client in clients), 120)
    storm_ended_wall = time.time()
    new_cpu = new.cpu_secs() - new_cpu_before
    for profiler in profilers:
        profiler.send_signal(signal.SIGINT)
        profiler.wait(30)
    await asyncio.sleep(1.0)
    stop_writing.set()
    writes, retried = await asyncio.to_thread(results.recv)
    await asyncio.to_thread(writer.join)

    async with httpx.AsyncClient(base_url=new.http_url, timeout=30) as api:
        channel_seqs = {}
        for channel in ("users", "posts"):
            response = await api.get(f"/api/{channel}/", params={"page_size": 1}, headers=auth)
            channel_seqs[channel] = int(response.headers["X-Channel-Seq"])

    def caught_up() -> bool:
        return all(c.last_seq >= channel_seqs[c.url.rsplit("/", 1)[1]] for c in clients)

    await wait_until(caught_up, 60)
    stop.set()
    for follower in followers:
        follower.cancel()
    by_channel = {
        channel: outcome_of([c for c in clients if c.url.endswith(channel)], seq, first_close_at)
        for channel, seq in channel_seqs.items()
    }
    during = [ms for wall, ms, status in writes if storm_started_wall <= wall <= storm_ended_wall]
    # (seconds after the SIGTERM the write was sent, what it got) of every write not answered 201.
    failed = [(round(wall - storm_started_wall, 2), status) for wall, _, status in writes if status != 201]
    resumed_within = [o.resumed_within_secs for o in by_channel.values() if o.resumed_within_secs is not None]
    return {
        "sockets": count,
        "storm_started_wall": storm_started_wall,
        "resumed": sum(o.resumed for o in by_channel.values()),
        "resumed_within_secs": max(resumed_within) if resumed_within else None,
        "lost": sum(o.lost for o in by_channel.values()),
        "duplicates": sum(o.duplicates for o in by_channel.values()),
        "other_closes": sorted({code for o in by_channel.values() for code in o.other_closes}),
        "refused_attempts": sum(o.refused_attempts for o in by_channel.values()),
        "writes": len(writes),
        "writes_during_storm": len(during),
        "write_ms_during_storm_p50": statistics.median([ms for ms in during if ms is not None]) if during else None,
        "write_ms_during_storm_p95": percentile([ms for ms in during if ms is not None], 0.95) if during else None,
        "write_ms_during_storm_max": max((ms for ms in during if ms is not None), default=None),
        # (seconds after the SIGTERM the write was sent, ms): which writes waited, and when.
        "slowest_writes": sorted(
            ((round(wall - storm_started_wall, 2), ms) for wall, ms, _ in writes if ms is not None), key=lambda w: -w[1]
        )[:3],
        "writes_over_1s": sum(1 for _, ms, _ in writes if ms is not None and ms > 1000),
        "writes_failed": failed,
        "writes_sent_again": len(retried),
        "storm_secs_new_server_cpu": round(new_cpu, 2),
        "new_server_cpu_ms_per_reconnect": round(new_cpu / count * 1000, 3),
    }


def rest_server(sockets_server: Target) -> Target:
    """A `make serve` of one worker on a port of its own, sharing the sockets' database and Redis."""
    port = free_port()
    command = [*sockets_server.command]
    command[command.index("--port") + 1] = str(port)
    command[command.index("--workers") + 1] = "1"
    return Target("rest-apart", command, sockets_server.env, port, token=sockets_server.token)


async def main() -> None:
    raise_open_files_limit()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sockets", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--redis", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument(
        "--postgres", metavar="ADMIN_URL", help="a fresh database on this PostgreSQL server instead of SQLite"
    )
    parser.add_argument("--output", type=Path, help="append JSON lines here")
    parser.add_argument("--profile", type=Path, help="py-spy the new release's workers through the storm (chrometrace)")
    parser.add_argument(
        "--rest-apart", action="store_true", help="writes to a server of their own (the split deployment)"
    )
    args = parser.parse_args()
    database_env, database_name = {}, None
    if args.postgres:
        url, database_name = create_postgres_database(args.postgres)
        database_env = {"DATABASE_URL": url}
    old = make_target("serve-redis-2" if args.workers == 2 else "serve-redis", args.redis, database_env)
    # The new release: the same database, Redis prefix and port.
    new = Target("new-release", [*old.command], old.env, old.port, token=old.token)
    rest = rest_server(old) if args.rest_apart else None
    old.start()
    if rest is not None:
        rest.start()
    try:
        result = await storm(old, new, args.sockets, args.profile, rest)
    finally:
        old.stop()
        new.stop()
        if rest is not None:
            rest.stop()
        if database_name:
            drop_postgres_database(args.postgres, database_name)
    result["database"] = "postgresql" if args.postgres else "sqlite"
    result["rest_apart"] = args.rest_apart
    report(result, args.output)


if __name__ == "__main__":
    asyncio.run(main())
