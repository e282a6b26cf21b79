"""
Presence: what it costs event delivery. One sitting, three modes:

- ``off``: REALTIME_PRESENCE=0;
- ``on``: presence on, no socket asks get_presence (so none gets joins or leaves);
- ``watching``: presence on, every socket has asked get_presence, so each gets every
  join and leave on the channel.

Each mode starts `make serve` (one uvicorn worker, DEBUG off) on the Redis layer with a
fresh SQLite database and a Redis key prefix of its own, opens N signed-in sockets to
/ws/posts over U users (N/U tabs each), then writes K posts over REST one at a time
and records, per write, the time from just before the POST until every socket has the
event, and the server's CPU time per event (from /proc). It also records how long the
N sockets took to open, and in ``watching`` the time to a ``presence`` answer. With
``--churn C``, in ``watching`` C users per second open and close a socket while the
writes go on (each a join and, after the linger, a leave to all N sockets).

Run:  .venv/bin/python bench/presence.py --sockets 1000 --users 200 --events 50 \
          --modes off on watching off on watching
      .venv/bin/python bench/presence.py --modes off watching --churn 2
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
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.clients import cpu_secs, open_sockets, post_and_read_seq, read_until
from testing import services
from testing.live_server import LiveStack, base_env

CREATE_USERS = """
import json
from rest_framework.authtoken.models import Token
from broadcasting import no_broadcast
from users.models import User
with no_broadcast():
    users = [User.objects.create_user(f"p{{n}}@example.com", name=f"p{{n}}") for n in range({count})]
    print(json.dumps([Token.objects.create(user=user).key for user in users]))
"""


async def churn(server, tokens: list[str], per_sec: float, stop: asyncio.Event, counts: list[int]) -> None:
    """Users coming and going: each opens one socket on /ws/posts and closes it 0.5 s later."""
    n = 0
    while not stop.is_set():
        token = tokens[n % len(tokens)]
        n += 1
        socket = await websockets.connect(
            f"{server.ws_url}/ws/posts", additional_headers={"Authorization": f"Token {token}"}
        )
        await asyncio.sleep(0.5)
        await socket.close()
        counts[0] += 1
        await asyncio.sleep(max(0.0, 1 / per_sec - 0.5))


async def run(mode: str, args, work_dir: Path, redis_url: str) -> dict:
    work_dir = Path(tempfile.mkdtemp(prefix=f"presence-{mode}-", dir=work_dir))
    env = base_env(
        DATABASE_URL=f"sqlite:///{work_dir / 'db.sqlite3'}",
        DJANGO_LOG_LEVEL="WARNING",
        DJANGO_SECRET_KEY="bench-secret-key-" + "x" * 40,
        REDIS_URL=redis_url,
        REDIS_KEY_PREFIX=services.unique_name("bench_presence"),
        REALTIME_PRESENCE="1" if mode != "off" else "0",
        REALTIME_PRESENCE_LINGER_SECS="1",
        REALTIME_MAX_SOCKETS_PER_ADDRESS="100000",
        REALTIME_MAX_SOCKETS_PER_USER="100000",
        REALTIME_CONNECTS_PER_ADDRESS_PER_MIN="100000",
        API_THROTTLE_USER="100000/minute",
    )
    stack = LiveStack(env=env, work_dir=work_dir)
    stack.manage("migrate", "--noinput")
    writer_token = stack.create_user("writer@example.com")
    tokens = json.loads(stack.shell(CREATE_USERS.format(count=args.users + 20)).strip().splitlines()[-1])
    tokens, churn_tokens = tokens[: args.users], tokens[args.users :]
    server = stack.start_server(kind="serve")
    try:
        started = time.perf_counter()
        sockets = await open_sockets(
            [f"{server.ws_url}/ws/posts"] * args.sockets,
            [{"Authorization": f"Token {tokens[n % args.users]}"} for n in range(args.sockets)],
        )
        open_secs = time.perf_counter() - started
        presence_ms = None
        if mode == "watching":
            started = time.perf_counter()
            for socket in sockets:
                await socket.send(json.dumps({"type": "get_presence"}))
            for socket in sockets:
                while json.loads(await socket.recv())["type"] != "presence":
                    pass
            presence_ms = (time.perf_counter() - started) * 1000 / len(sockets)
        await asyncio.sleep(2)
        stop, churned = asyncio.Event(), [0]
        churner = (
            asyncio.create_task(churn(server, churn_tokens, args.churn, stop, churned))
            if mode == "watching" and args.churn > 0
            else None
        )
        last_ms = []
        cpu_at_start = cpu_secs(server.process.pid)
        async with httpx.AsyncClient(base_url=server.http_url, timeout=60) as api:
            for n in range(args.events):
                started = time.perf_counter()
                seq = await post_and_read_seq(api, writer_token, n)
                await asyncio.gather(*(read_until(socket, seq) for socket in sockets))
                last_ms.append((time.perf_counter() - started) * 1000)
                await asyncio.sleep(0.3)
        cpu_ms_per_event = (cpu_secs(server.process.pid) - cpu_at_start) * 1000 / args.events
        stop.set()
        if churner is not None:
            await churner
        for socket in sockets:
            await socket.close()
        return {
            "mode": mode,
            "sockets": args.sockets,
            "users": args.users,
            "events": args.events,
            "open_all_secs": round(open_secs, 2),
            "get_presence_ms_per_socket": round(presence_ms, 2) if presence_ms is not None else None,
            "churned_users": churned[0],
            "last_socket_ms_median": round(statistics.median(last_ms), 1),
            "last_socket_ms_p90": round(sorted(last_ms)[int(len(last_ms) * 0.9) - 1], 1),
            "server_cpu_ms_per_event": round(cpu_ms_per_event, 2),
        }
    finally:
        stack.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--events", type=int, default=50)
    parser.add_argument("--churn", type=float, default=0.0, help="users per second coming and going (watching)")
    parser.add_argument("--modes", nargs="+", default=["off", "on", "watching"])
    args = parser.parse_args()
    redis_url = services.redis_url()
    with tempfile.TemporaryDirectory() as work_dir:
        for mode in args.modes:
            result = asyncio.run(run(mode, args, Path(work_dir), redis_url))
            print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
