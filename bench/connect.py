"""
Connect benchmark: what opening and closing a socket costs the server.

For each configuration it starts the server(s), warms them with a few sockets, then:

- opens N sockets one at a time (each waits for its connection frame), then closes them
  one at a time: the server's CPU (every server process, from /proc, less what it
  burns idle over the same time) per connect and per close, and the wall time;
- opens N sockets at once and closes them at once: the wall time until every
  connection frame is in, and CPU per connect again.

With ``--profile`` the one-at-a-time connects run once more under py-spy, and its
samples are split by phase of the handshake (``PHASES``): each phase gets its share
of the unprofiled run's milliseconds per connect.

Configurations: ``reference`` (the FastAPI guide's design, no auth), and this project's
``serve-memory`` / ``serve-redis`` (`make serve`, one worker), each as ``anonymous``
(/ws/posts, no credentials) and ``token`` (/ws/users, a DRF token in the header).

    .venv/bin/python bench/connect.py --sockets 1000
    .venv/bin/python bench/connect.py --sockets 500 --targets serve-redis --profile /tmp/connect-profiles
"""

import argparse
import asyncio
import os
import re
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import websockets

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

from bench.clients import report  # noqa: E402
from bench.delivery import Target, make_target, raise_open_files_limit  # noqa: E402

# Handshake phases, by the first frame of a sample's stack (innermost first) that
# matches; the rest of the server (the ASGI server's parsing, the loop) is "server".
PHASES: list[tuple[str, str]] = [
    ("authentication", r"sockets/auth|sockets/accounts|rest_framework/authtoken|contrib/auth|credentials_watch"),
    ("origin and limits", r"sockets/origins|sockets/limits|sockets/ratelimit|sockets/handshake|core/cache"),
    ("presence and counts", r"presence/|runtime/loop_redis|runtime/circuit|socket_counts|counts\.py"),
    ("subscription and history", r"sockets/subscribe|delivery/|log/|live/"),
    ("database", r"django/db/"),
    ("connection frame", r"wire/"),
    ("channels and the consumer", r"channels/|sockets/"),
    ("redis client", r"redis/"),
    ("asgi server", r"uvicorn/|daphne/|twisted/|websockets/|h11/|httptools"),
]


# A sample whose innermost frame is one of these is the machinery itself.
LEAF_PHASES: list[tuple[str, str]] = [
    ("event loop (native: sockets, wake-ups)", r"Runner\.run|run_forever|_run_once"),
    ("thread hops", r"concurrent/futures|threading\.py|asgiref/sync\.py|channels/db\.py"),
]


def phase_of(stack: str) -> str:
    frames = stack.split(";")
    for phase, pattern in LEAF_PHASES:
        if re.search(pattern, frames[-1]):
            return phase
    for frame in reversed(frames):
        for phase, pattern in PHASES:
            if re.search(pattern, frame):
                return phase
    return "other (loop, threads, gc)"


def phase_shares(profile_paths: list[Path]) -> dict[str, float]:
    counts: Counter[str] = Counter()
    for path in profile_paths:
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            stack, _, samples = line.rpartition(" ")
            if "idle" in stack or "(select)" in stack or "epoll" in stack:
                continue
            counts[phase_of(stack)] += int(samples)
    total = sum(counts.values()) or 1
    return {phase: round(samples / total, 3) for phase, samples in counts.most_common()}


def socket_request(target: Target, kind: str) -> tuple[str, dict[str, str]]:
    """The URL and headers of one socket of this kind on this target."""
    if not target.project:
        return f"ws://127.0.0.1:{target.port}/ws/users", {}
    if kind == "token":
        return f"ws://127.0.0.1:{target.port}/ws/users", {"Authorization": f"Token {target.token}"}
    return f"ws://127.0.0.1:{target.port}/ws/posts", {}


async def connect_one(url: str, headers: dict[str, str]):
    socket = await websockets.connect(url, additional_headers=headers, ping_interval=None, open_timeout=120)
    await socket.recv()  # the connection frame
    return socket


async def idle_cpu_rate(target: Target, secs: float = 2.0) -> float:
    """CPU seconds per second the server burns with nothing to do (its timers, presence beats)."""
    before = target.cpu_secs()
    await asyncio.sleep(secs)
    return (target.cpu_secs() - before) / secs


async def settle(target: Target, idle_rate: float, quiet_secs: float = 0.5, limit_secs: float = 10.0) -> None:
    """Wait until the server is back to idle: deferred work (a leave's writes) is counted where it belongs."""
    deadline = time.monotonic() + limit_secs
    while time.monotonic() < deadline:
        before = target.cpu_secs()
        await asyncio.sleep(quiet_secs)
        if target.cpu_secs() - before <= idle_rate * quiet_secs + 0.011:
            return


class Meter:
    """Server CPU over a phase, less the idle rate over the same wall time."""

    def __init__(self, target: Target, idle_rate: float) -> None:
        self.target, self.idle_rate = target, idle_rate

    def __enter__(self) -> "Meter":
        self.cpu, self.wall = self.target.cpu_secs(), time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.wall_secs = time.perf_counter() - self.wall
        self.cpu_secs = self.target.cpu_secs() - self.cpu - self.idle_rate * self.wall_secs


def start_profilers(target: Target, profile_dir: Path, label: str) -> tuple[list[subprocess.Popen], list[Path]]:
    profile_dir.mkdir(parents=True, exist_ok=True)
    py_spy = Path(sys.executable).parent / "py-spy"
    pids = [pid for pid in target.pids() if pid != target.process.pid or len(target.pids()) == 1]
    paths = [profile_dir / f"{label}-{pid}.txt" for pid in pids]
    profilers = [
        subprocess.Popen(
            [str(py_spy), "record", "-r", "500", "-f", "raw", "--nonblocking", "--pid", str(pid), "-o", str(path)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        for pid, path in zip(pids, paths, strict=True)
    ]  # fmt: skip
    return profilers, paths


async def measure(target: Target, kind: str, count: int, profile_dir: Path | None) -> dict:
    url, headers = socket_request(target, kind)
    warm = [await connect_one(url, headers) for _ in range(20)]
    await asyncio.gather(*(socket.close() for socket in warm))
    idle_rate = await idle_cpu_rate(target)
    await settle(target, idle_rate)

    handshake_ms: list[float] = []
    sockets = []
    with Meter(target, idle_rate) as one_by_one:
        for _ in range(count):
            started = time.perf_counter()
            sockets.append(await connect_one(url, headers))
            handshake_ms.append((time.perf_counter() - started) * 1000)
    with Meter(target, idle_rate) as close_one_by_one:
        for socket in sockets:
            await socket.close()
        await settle(target, idle_rate)

    with Meter(target, idle_rate) as at_once:
        sockets = await asyncio.gather(*(connect_one(url, headers) for _ in range(count)))
    at_once_wall = at_once.wall_secs
    with Meter(target, idle_rate) as close_at_once:
        await asyncio.gather(*(socket.close() for socket in sockets))
        await settle(target, idle_rate)
    result = {
        "target": target.name,
        "kind": "anonymous" if not target.project else kind,
        "sockets": count,
        "connect_cpu_ms": round(one_by_one.cpu_secs / count * 1000, 3),
        "close_cpu_ms": round(close_one_by_one.cpu_secs / count * 1000, 3),
        "connect_cpu_ms_at_once": round(at_once.cpu_secs / count * 1000, 3),
        "close_cpu_ms_at_once": round(close_at_once.cpu_secs / count * 1000, 3),
        "one_by_one_secs": round(one_by_one.wall_secs, 2),
        "handshake_p50_ms": round(statistics.median(handshake_ms), 2),
        "at_once_secs": round(at_once_wall, 2),
        "idle_cpu_per_sec": round(idle_rate, 4),
        "server_env": target.server_env,
    }
    if profile_dir:
        shares = await profiled_phases(target, kind, url, headers, count, profile_dir)
        result["phases_ms"] = {phase: round(share * result["connect_cpu_ms"], 3) for phase, share in shares.items()}
    return result


async def profiled_phases(
    target: Target, kind: str, url: str, headers: dict[str, str], count: int, profile_dir: Path
) -> dict[str, float]:
    """The one-at-a-time connects again, under py-spy: each phase's share (of the unprofiled run's CPU)."""
    profilers, paths = start_profilers(target, profile_dir, f"{target.name}-{kind}")
    await asyncio.sleep(0.5)
    sockets = [await connect_one(url, headers) for _ in range(count)]
    for profiler in profilers:
        profiler.send_signal(signal.SIGINT)
        profiler.wait(30)
    await asyncio.gather(*(socket.close() for socket in sockets))
    return phase_shares(paths)


async def main() -> None:
    raise_open_files_limit()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--targets", nargs="+", default=["reference", "serve-memory", "serve-redis"])
    parser.add_argument("--kinds", nargs="+", default=["anonymous", "token"], choices=["anonymous", "token"])
    parser.add_argument("--redis", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--server-env", nargs="*", default=[], metavar="NAME=VALUE")
    parser.add_argument("--profile", type=Path, help="py-spy the one-at-a-time connects; split them by phase")
    parser.add_argument("--output", type=Path, help="append JSON lines here")
    args = parser.parse_args()
    server_env = dict(pair.split("=", 1) for pair in args.server_env)
    for name in args.targets:
        kinds = ["anonymous"] if name == "reference" else args.kinds
        for kind in kinds:
            target = make_target(name, args.redis, server_env)
            target.start()
            try:
                result = await measure(target, kind, args.sockets, args.profile)
            finally:
                target.stop()
            report(result, args.output)


if __name__ == "__main__":
    asyncio.run(main())
