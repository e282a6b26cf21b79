"""
Delivery benchmark: N sockets on /ws/users, K sequential REST writes, one client.

For each configuration it starts the server(s) on a fresh SQLite database, opens N
WebSocket clients from this one process, then makes K POSTs to the users list one
after another and measures, with the same client code for every configuration:

- deliveries/s: frames received / (last receipt - first POST);
- commit->receive p50/p95/p99: the frame's own server timestamp to its receipt (one
  machine, one clock), over every delivery; and per write, its first and its last
  delivery (medians over the writes);
- from_post p50/p99: from the moment the writer sent the POST to each receipt, which
  does not depend on where each design takes its timestamp;
- lost: deliveries still missing 15 s after the last write;
- (before any of it, ``--warm-up-writes`` untimed writes, 1 by default, each
  delivered to every socket: a server's first write is its slowest, and at 100
  sockets its deliveries alone would be the p99);
- REST write latency: median POST round trip (from a writer process of its own);
- server CPU seconds per 1,000 deliveries (every server process, from /proc), and the
  reading client's own;
- server memory per idle socket: resident set after opening the sockets minus before;
- per-worker socket spread, for multi-worker configurations.

Configurations: ``reference`` (the FastAPI guide's design, bench/reference_app.py on
uvicorn), ``serve-memory`` (`make serve`, 1 worker, in-memory layer), ``serve-redis``
(1 worker, Redis), ``serve-redis-2`` (2 workers), ``split-redis`` (two `make serve`
processes of 1 worker on Redis: the sockets on one, the REST writes on the other, as
nginx would route them), and ``<server>-memory`` for the ASGI servers compared for
`make serve` (daphne, uvicorn, granian, hypercorn).
Compare numbers only within one sitting: the machine is shared.

    .venv/bin/python bench/delivery.py --sockets 100 1000 5000 --writes 50
    .venv/bin/python bench/delivery.py --sockets 5000 --writes 30 --writes-per-sec 4 \
        --targets serve-memory --server-env REALTIME_FANOUT_SHARE_DURING_REQUESTS=1
"""

import argparse
import asyncio
import gc
import json
import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import websockets

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

from bench.clients import cpu_secs, open_sockets, report, resident_kib  # noqa: E402
from testing.live_server import base_env, free_port  # noqa: E402

# How long deliveries may take to arrive after the writes before they count as lost.
LOSS_WAIT_SECS = 15


@dataclass
class Target:
    """One configuration's server processes, and how to talk to them."""

    name: str
    command: list[str]
    env: dict[str, str]
    port: int
    project: bool = True
    token: str | None = None
    server_env: dict[str, str] | None = None  # the settings given on top of the benchmark's own
    process: subprocess.Popen | None = None
    log_path: Path | None = None
    # A process of its own that serves REST (writes go there; sockets come here).
    rest_process: "Target | None" = None

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def write_url(self) -> str:
        return self.rest_process.http_url if self.rest_process else self.http_url

    def start(self) -> None:
        if self.rest_process is not None:
            self.rest_process.start()
        self.log_path = Path(tempfile.mkstemp(prefix=f"bench-{self.name}-", suffix=".log")[1])
        self.process = subprocess.Popen(
            self.command, cwd=PROJECT_DIR, env=self.env, stdout=self.log_path.open("wb"), stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.log_path.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.http_url}/ws/stats", timeout=1).status_code == 200:
                    time.sleep(1.0)  # let every worker finish starting
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not answer:\n{self.log_path.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.rest_process is not None:
            self.rest_process.stop()
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def pids(self) -> list[int]:
        """The server process and its workers (and the REST process's)."""
        pids = [self.process.pid]
        for pid in list(pids):
            children = Path(f"/proc/{pid}/task/{pid}/children")
            if children.exists():
                pids += [int(child) for child in children.read_text().split()]
        return pids + (self.rest_process.pids() if self.rest_process else [])

    def cpu_secs(self) -> float:
        return sum(cpu_secs(pid) for pid in self.pids())

    def rss_kib(self) -> int:
        return sum(resident_kib(pid) for pid in self.pids())

    def sockets_per_worker(self) -> list[int]:
        """Established connections on the port, per server process (ss)."""
        output = subprocess.run(
            ["ss", "-tnpH", "state", "established", f"( sport = :{self.port} )"], capture_output=True, text=True
        ).stdout
        counts: dict[str, int] = {}
        for line in output.splitlines():
            if "pid=" in line:
                pid = line.split("pid=")[1].split(",")[0]
                counts[pid] = counts.get(pid, 0) + 1
        return sorted(counts.values(), reverse=True)


def manage(env: dict[str, str], *args: str) -> str:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=PROJECT_DIR, env=env, capture_output=True, text=True, check=True
    ).stdout


def project_target(
    name: str, server: str, workers: int, redis_url: str | None, extra_env: dict[str, str] | None = None
) -> Target:
    work_dir = Path(tempfile.mkdtemp(prefix="bench-"))
    env = base_env(
        DATABASE_URL=f"sqlite:///{work_dir / 'db.sqlite3'}",
        DJANGO_LOG_LEVEL="WARNING",
        # Thousands of sockets from one address and one user, opened within a minute.
        REALTIME_MAX_SOCKETS_PER_ADDRESS="100000",
        REALTIME_MAX_SOCKETS_PER_USER="100000",
        REALTIME_CONNECTS_PER_ADDRESS_PER_MIN="100000",
    )
    if redis_url:
        env.update(REDIS_URL=redis_url, REDIS_KEY_PREFIX=f"bench-{os.getpid()}-{name}")
    env.update(extra_env or {})
    manage(env, "migrate", "--noinput")
    manage(
        env,
        "shell",
        "-c",
        "from users.models import User; User.objects.create_superuser('bench@example.com', 'x')",
    )
    token = manage(env, "drf_create_token", "bench@example.com").split()[2]
    port = free_port()
    app = "realtime_site.asgi:application"
    commands = {
        "serve": [sys.executable, "-m", "realtime_site.serve", "--host", "127.0.0.1", "--port", str(port),
                  "--workers", str(workers)],
        "daphne": [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), app],
        "uvicorn": [sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--port", str(port), "--lifespan", "off",
                    "--log-level", "warning", "--no-access-log", app],
        "granian": [sys.executable, "-m", "granian", "--interface", "asginl", "--host", "127.0.0.1", "--port",
                    str(port), "--log-level", "warning", app],
        "hypercorn": [sys.executable, "-m", "hypercorn", "-b", f"127.0.0.1:{port}", app],
    }  # fmt: skip
    return Target(name, commands[server], env, port, token=token, server_env=extra_env or None)


def reference_target() -> Target:
    port = free_port()
    env = {**os.environ, "REFERENCE_DB": str(Path(tempfile.mkdtemp(prefix="bench-ref-")) / "db.sqlite3")}
    command = [sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
               "bench.reference_app:app"]  # fmt: skip
    return Target("reference", command, env, port, project=False)


@dataclass
class Run:
    sockets: int
    writes: int
    received: list[list[tuple[float, str]]] = field(default_factory=list)  # per write: (wall receipt, stamp)
    post_secs: list[float] = field(default_factory=list)


async def open_target_sockets(target: Target, count: int) -> list:
    """``count`` sockets on the target's /ws/users, signed in with its token."""
    headers = {"Authorization": f"Token {target.token}"} if target.token else {}
    url = f"ws://127.0.0.1:{target.port}/ws/users"
    return await open_sockets([url] * count, [headers] * count, ping_interval=None)


async def read_events(socket, run: Run, index_of: dict[str, int]) -> None:
    try:
        async for raw in socket:
            received_at = time.time()
            frame = json.loads(raw)
            if frame.get("type") == "created":
                write_index = index_of.get(frame["data"]["email"])
                if write_index is not None:
                    run.received[write_index].append((received_at, frame["timestamp"]))
    except websockets.ConnectionClosed:
        return


def stamp_secs(stamp: str) -> float:
    moment = datetime.fromisoformat(stamp)
    if moment.tzinfo is None:  # the guide's datetime.utcnow()
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def start_profilers(target: Target, profile_dir: Path) -> list[subprocess.Popen]:
    """py-spy on every server process for the write phase, as collapsed stacks."""
    profile_dir.mkdir(parents=True, exist_ok=True)
    py_spy = Path(sys.executable).parent / "py-spy"
    return [
        subprocess.Popen(
            [str(py_spy), "record", "-r", "250", "-f", "raw", "--nonblocking", "--pid", str(pid),
             "-o", str(profile_dir / f"{target.name}-{pid}.txt")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        for pid in target.pids()
        if pid != target.process.pid or len(target.pids()) == 1
    ]  # fmt: skip


def post_writes(base_url: str, path: str, headers: dict, emails: list[str], writes_per_sec: float, results) -> None:
    """
    In a writer process: the sequential POSTs, back to back or, with ``writes_per_sec``,
    one every 1/writes_per_sec seconds (a write that takes longer delays the next);
    sends back (first POST's wall time, round trips).
    """
    round_trips, sent_at = [], []
    interval_secs = 1 / writes_per_sec if writes_per_sec else 0.0
    with httpx.Client(base_url=base_url, timeout=60) as api:
        first_post = time.time()
        for index, email in enumerate(emails):
            time.sleep(max(0.0, first_post + index * interval_secs - time.time()))
            sent_at.append(time.time())
            started = time.perf_counter()
            response = api.post(path, json={"email": email, "name": "Bench"}, headers=headers)
            round_trips.append(time.perf_counter() - started)
            if response.status_code != 201:
                results.send(("failed", response.status_code, response.text[:500]))
                return
    results.send(("ok", first_post, round_trips, sent_at))


async def in_writer_process(function, *args):
    """
    Run ``function(*args, results)`` in a spawned process of its own and return what it
    sends on ``results``. Writes come from there: timed in this process, a POST's round
    trip would include this event loop's turn through thousands of socket reads.
    """
    context = multiprocessing.get_context("spawn")
    results, writer_end = context.Pipe(duplex=False)
    writer = context.Process(target=function, args=(*args, writer_end))
    writer.start()
    outcome = await asyncio.to_thread(results.recv)
    # Not writer.join() here: the writer's interpreter takes ~0.1 s to exit, and frames
    # arriving meanwhile would wait for this loop and be timed late.
    await asyncio.to_thread(writer.join)
    return outcome


async def measure(
    target: Target,
    sockets_count: int,
    writes: int,
    writes_per_sec: float = 0,
    profile_dir: Path | None = None,
    warm_up_writes: int = 1,
) -> dict:
    rss_before = target.rss_kib()
    sockets = await open_target_sockets(target, sockets_count)
    await asyncio.sleep(1.0)
    rss_idle = target.rss_kib()
    spread = target.sockets_per_worker()
    # The warm-up writes come after the measured ones in ``received``, and are left out of every number.
    run = Run(sockets_count, writes, received=[[] for _ in range(writes + warm_up_writes)])
    tag = f"{target.name}-{sockets_count}-{time.time_ns()}"
    emails = [f"{tag}-{number}@bench.example" for number in range(writes)]
    warm_up_emails = [f"{tag}-warm-up-{number}@bench.example" for number in range(warm_up_writes)]
    index_of = {email: number for number, email in enumerate(emails + warm_up_emails)}
    readers = [asyncio.create_task(read_events(socket, run, index_of)) for socket in sockets]
    # Freeze the client's heap, as `make serve` does the server's: otherwise its full
    # collections walk every connection's objects, 40 ms at 1,000 sockets, and show up
    # as the latency tail of whichever target is being measured.
    gc.collect()
    gc.freeze()
    headers = {"Authorization": f"Token {target.token}"} if target.token else {}
    path = "/api/users/" if target.project else "/users/"
    if warm_up_writes:
        await warm_up(target, run, path, headers, warm_up_emails)
    profilers = start_profilers(target, profile_dir) if profile_dir else []
    await asyncio.sleep(0.5 if profilers else 0)
    cpu_before = target.cpu_secs()
    client_cpu_before = time.process_time()
    outcome = await in_writer_process(post_writes, target.write_url, path, headers, emails, writes_per_sec)
    assert outcome[0] == "ok", outcome
    _, first_post, run.post_secs, sent_at = outcome
    expected = sockets_count * writes
    measured = run.received[:writes]
    await wait_until(lambda: sum(len(per_write) for per_write in measured) >= expected, LOSS_WAIT_SECS)
    cpu_secs = target.cpu_secs() - cpu_before
    client_cpu_secs = time.process_time() - client_cpu_before
    for profiler in profilers:
        profiler.send_signal(signal.SIGINT)
        profiler.wait(30)
    for reader in readers:
        reader.cancel()
    await asyncio.gather(*(socket.close() for socket in sockets), return_exceptions=True)
    gc.unfreeze()

    receipts = [receipt for per_write in measured for receipt in per_write]
    delivered = len(receipts)
    last_receipt = max(received_at for received_at, _ in receipts)
    latencies_ms = [(received_at - stamp_secs(stamp)) * 1000 for received_at, stamp in receipts]
    # From the moment the writer sent the POST: what a user sees, whatever moment each
    # design stamps its events with (ours inside the transaction, the reference's after
    # its write returned).
    from_post_ms = [
        (received_at - sent_at[index]) * 1000
        for index, per_write in enumerate(measured)
        for received_at, _ in per_write
    ]
    spans_ms = write_spans_ms(measured)
    return {
        "target": target.name,
        "sockets": sockets_count,
        "writes": writes,
        "writes_per_sec": writes_per_sec or None,
        "warm_up_writes": warm_up_writes,
        "delivered": delivered,
        "lost": expected - delivered,
        "deliveries_per_sec": round(delivered / (last_receipt - first_post)),
        "p50_ms": round(percentile(latencies_ms, 0.50), 1),
        "p95_ms": round(percentile(latencies_ms, 0.95), 1),
        "p99_ms": round(percentile(latencies_ms, 0.99), 1),
        "from_post_p50_ms": round(percentile(from_post_ms, 0.50), 1),
        "from_post_p99_ms": round(percentile(from_post_ms, 0.99), 1),
        # Per write, its first and its last delivery (medians over the writes): the
        # path's fixed cost, and the time one event takes to reach every socket.
        "first_ms": round(statistics.median(min(spans) for spans in spans_ms.values()), 1),
        "last_ms": round(statistics.median(max(spans) for spans in spans_ms.values()), 1),
        # The writes whose last delivery came latest (index in order of writing, ms):
        # tells a tail spread over every write from one write that waited.
        "slowest_writes": sorted(
            ((index, round(max(spans), 1)) for index, spans in spans_ms.items()), key=lambda pair: -pair[1]
        )[:3],
        "rest_write_ms": round(statistics.median(run.post_secs) * 1000, 1),
        "cpu_secs_per_1000": round(cpu_secs / max(delivered, 1) * 1000, 4),
        # The one reading client's CPU for the same frames: where it nears the server's
        # plus a core's worth of wall time, the client, not the server, sets the pace.
        "client_cpu_secs_per_1000": round(client_cpu_secs / max(delivered, 1) * 1000, 4),
        "kib_per_idle_socket": round((rss_idle - rss_before) / sockets_count, 1),
        "sockets_per_worker": spread,
        "server_env": target.server_env,
    }


async def warm_up(target: Target, run: Run, path: str, headers: dict, emails: list[str]) -> None:
    """
    Untimed writes before the measured ones, each delivered to every socket before the
    next phase: each server's first write pays for its first request, connections and
    code paths (every target's first write was its slowest, 1.5-6 ms over the next),
    and at 100 sockets that one write's deliveries are the whole p99.
    """
    outcome = await in_writer_process(post_writes, target.write_url, path, headers, emails, 0)
    assert outcome[0] == "ok", outcome
    warm_ups = run.received[run.writes :]
    await wait_until(lambda: all(len(per_write) >= run.sockets for per_write in warm_ups), LOSS_WAIT_SECS)


async def wait_until(done: Callable[[], bool], timeout_secs: float) -> None:
    """Check ``done`` every 50 ms until it holds or ``timeout_secs`` have passed."""
    deadline = time.monotonic() + timeout_secs
    while not done() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)


def write_spans_ms(received: list[list[tuple[float, str]]]) -> dict[int, list[float]]:
    """Each write's delivery latencies in ms, by the write's index (writes with none left out)."""
    return {
        index: [(at - stamp_secs(stamp)) * 1000 for at, stamp in per_write]
        for index, per_write in enumerate(received)
        if per_write
    }


def make_target(name: str, redis_url: str, server_env: dict[str, str] | None = None) -> Target:
    """``server_env`` (REALTIME_* settings, say) goes to this project's servers, not the reference."""
    if name == "reference":
        return reference_target()
    if name == "serve-memory":
        return project_target(name, "serve", 1, None, server_env)
    if name == "serve-redis":
        return project_target(name, "serve", 1, redis_url, server_env)
    if name == "serve-redis-2":
        return project_target(name, "serve", 2, redis_url, server_env)
    if name == "split-redis":
        # The alternative to the in-process request priority: REST and sockets in processes of their own.
        sockets = project_target(name, "serve", 1, redis_url, server_env)
        rest_port = free_port()
        rest_command = [*sockets.command[: sockets.command.index("--port") + 1], str(rest_port), "--workers", "1"]
        sockets.rest_process = Target(f"{name}-rest", rest_command, sockets.env, rest_port, token=sockets.token)
        return sockets
    server = name.removesuffix("-memory")
    return project_target(name, server, 1, None, server_env)


def raise_open_files_limit() -> None:
    """Thousands of sockets need more descriptors than the usual soft limit (servers inherit it)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def main() -> None:
    raise_open_files_limit()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sockets", type=int, nargs="+", default=[100, 1000, 5000])
    parser.add_argument("--writes", type=int, default=50)
    parser.add_argument(
        "--writes-per-sec", type=float, default=0, help="pace the writes at this rate (default: back to back)"
    )
    parser.add_argument("--targets", nargs="+", default=["reference", "serve-memory", "serve-redis", "serve-redis-2"])
    parser.add_argument("--redis", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument(
        "--server-env", nargs="*", default=[], metavar="NAME=VALUE", help="settings for this project's servers"
    )
    parser.add_argument(
        "--warm-up-writes", type=int, default=1, help="untimed writes first, each delivered before timing starts"
    )
    parser.add_argument("--output", type=Path, help="append JSON lines here")
    parser.add_argument("--profile", type=Path, help="record py-spy profiles of the write phase in this folder")
    args = parser.parse_args()
    server_env = dict(pair.split("=", 1) for pair in args.server_env)
    for sockets_count in args.sockets:
        for name in args.targets:
            target = make_target(name, args.redis, server_env)
            target.start()
            try:
                result = await measure(
                    target, sockets_count, args.writes, args.writes_per_sec, args.profile, args.warm_up_writes
                )
            finally:
                target.stop()
            report(result, args.output)


if __name__ == "__main__":
    asyncio.run(main())
