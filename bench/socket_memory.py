"""
Where an idle socket's server memory goes: N sockets on /ws/posts against one worker
configured as `make serve` configures it (uvicorn, httptools, websockets-sansio; the
asyncio loop, since tracemalloc does not see inside uvloop), under tracemalloc. The
Python heap before and after opening the sockets, per socket, by the package whose
code asked for each allocation (the innermost non-stdlib frame), and the resident set.

    .venv/bin/python bench/socket_memory.py --sockets 1000 [--redis redis://127.0.0.1:6379/0]
"""

import argparse
import asyncio
import collections
import itertools
import os
import signal
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

PACKAGES = ("uvicorn", "websockets", "channels", "asgiref", "django", "rest_framework", "redis")


def serve(port: int, snapshot_dir: Path) -> None:
    """The worker: SIGUSR1 writes a heap snapshot to snapshot_dir/<n>.snap."""
    import uvicorn

    from realtime_site.serve import uvicorn_config

    tracemalloc.start(12)
    numbers = itertools.count()

    def dump(signum, frame) -> None:
        import gc

        gc.collect()
        tracemalloc.take_snapshot().dump(str(snapshot_dir / f"{next(numbers)}.snap"))
        (snapshot_dir / "done").touch()

    signal.signal(signal.SIGUSR1, dump)
    uvicorn.Server(uvicorn_config("127.0.0.1", port, loop="asyncio")).run()


def owner(traceback: tracemalloc.Traceback) -> str:
    for frame in reversed(list(traceback)):
        for package in PACKAGES:
            if f"site-packages/{package}/" in frame.filename:
                return package
        if str(PROJECT_DIR) in frame.filename and "site-packages" not in frame.filename:
            return "this project (" + Path(frame.filename).relative_to(PROJECT_DIR).parts[0] + ")"
    return "stdlib only"


async def measure(count: int, redis_url: str | None) -> None:
    import httpx

    from bench.clients import open_sockets, resident_kib
    from testing.live_server import LiveStack, base_env, free_port

    work = Path(tempfile.mkdtemp(prefix="socket-memory-"))
    env = base_env(
        DATABASE_URL=f"sqlite:///{work / 'db.sqlite3'}",
        REALTIME_MAX_SOCKETS_PER_ADDRESS="100000",
        REALTIME_CONNECTS_PER_ADDRESS_PER_MIN="100000",
        **({"REDIS_URL": redis_url, "REDIS_KEY_PREFIX": f"socket-memory-{os.getpid()}"} if redis_url else {}),
    )
    LiveStack(env=env, work_dir=work).manage("migrate", "--noinput")
    port = free_port()
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(port), str(work)], env=env, cwd=PROJECT_DIR)

    def snapshot() -> None:
        (work / "done").unlink(missing_ok=True)
        server.send_signal(signal.SIGUSR1)
        while not (work / "done").exists():
            time.sleep(0.2)

    try:
        deadline = time.monotonic() + 180  # Django's imports under tracemalloc take a while
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/ws/stats").raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                await asyncio.sleep(0.5)
        url = f"ws://127.0.0.1:{port}/ws/posts"
        for warm in await open_sockets([url]):
            await warm.close()
        await asyncio.sleep(1)
        snapshot()
        rss_before = resident_kib(server.pid)
        sockets = await open_sockets([url] * count)
        await asyncio.sleep(2)
        snapshot()
        rss_after = resident_kib(server.pid)
        for socket in sockets:
            await socket.close()
    finally:
        server.terminate()
        server.wait()
    before = tracemalloc.Snapshot.load(str(work / "0.snap"))
    after = tracemalloc.Snapshot.load(str(work / "1.snap"))
    by_owner: collections.Counter[str] = collections.Counter()
    for stat in after.compare_to(before, "traceback"):
        by_owner[owner(stat.traceback)] += stat.size_diff
    per_socket = (rss_after - rss_before) / count
    print(f"snapshots in {work}")
    print(f"{count} idle sockets: resident set +{per_socket:.1f} KiB per socket (with tracemalloc's own records)")
    print(f"Python heap +{sum(by_owner.values()) / count / 1024:.1f} KiB per socket, by whose code asked:")
    for name, size in by_owner.most_common():
        if abs(size) >= count * 10:
            print(f"  {size / count / 1024:6.2f} KiB  {name}")


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--serve":
        serve(int(sys.argv[2]), Path(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--redis", metavar="URL", help="run the worker on the Redis channel layer at URL")
    args = parser.parse_args()
    asyncio.run(measure(args.sockets, args.redis))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
