"""
Services that fail over under load, each a setup of the test's own:

- Redis behind Sentinel (a master, a replica, three sentinels): `make serve` with two
  workers, 200 sockets and a write every 100 ms; the master is SIGKILLed. Writes never
  wait on Redis, deliveries resume on the promoted replica, every socket ends with every
  event once and in order, socket counts are right again.
- PostgreSQL restarted (its own cluster): writes during the outage get a quick 503
  with Retry-After, never a 500 or a traceback; /readyz is 503 and /healthz 200 meanwhile;
  sockets stay open and get every committed event; the first request after it succeeds.
"""

import asyncio
import time

import httpx
import psycopg
import pytest

from testing import services
from testing.api import total_connections_are
from testing.redis_sentinel import SentinelSetup
from testing.redis_server import OwnRedis
from testing.sockets import Socket
from testing.storm import open_clients, outcome_of
from testing.wait import wait_until

pytestmark = pytest.mark.live_server

SOCKETS = 200
WRITE_EVERY_SECS = 0.1


class Writer:
    """A post every WRITE_EVERY_SECS until stopped; every answer kept with when it came and how long it took."""

    def __init__(self, api: httpx.AsyncClient, token: str) -> None:
        self.api, self.headers = api, {"Authorization": f"Token {token}"}
        self.answers: list[tuple[float, int | str, float, dict]] = []  # (sent at, status, secs, headers)
        self.stopped = asyncio.Event()

    async def run(self) -> None:
        number = 0
        while not self.stopped.is_set():
            started = time.monotonic()
            try:
                response = await self.api.post(
                    "/api/posts/", json={"title": f"w{number}", "published": True}, headers=self.headers, timeout=10
                )
                self.answers.append((started, response.status_code, time.monotonic() - started, dict(response.headers)))
            except httpx.HTTPError as error:
                self.answers.append((started, type(error).__name__, time.monotonic() - started, {}))
            number += 1
            await asyncio.sleep(max(0.0, WRITE_EVERY_SECS - (time.monotonic() - started)))

    def statuses(self) -> list[int | str]:
        return [status for _, status, _, _ in self.answers]


async def probe(api: httpx.AsyncClient, path: str, seen: list[tuple[float, int]], stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            seen.append((time.monotonic(), (await api.get(path, timeout=5)).status_code))
        except httpx.HTTPError:
            seen.append((time.monotonic(), 0))
        await asyncio.sleep(0.2)


async def test_the_redis_master_killed_under_load_loses_no_write_and_no_event(live_stack, tmp_path):
    services.require(OwnRedis.available(), "redis-server is not installed")
    setup = SentinelSetup(tmp_path / "redis").start()
    try:
        stack = live_stack(
            **setup.env,
            REDIS_KEY_PREFIX=services.unique_name("rt_failover"),
            REALTIME_MAX_SOCKETS_PER_ADDRESS="10000",
            REALTIME_CONNECTS_PER_ADDRESS_PER_MIN="10000",
            REALTIME_MAX_SOCKETS_PER_USER="10000",
        )
        token = stack.create_user("writer@example.com")
        server = stack.start_server("serve", workers=2)
        clients, sockets = await open_clients([f"{server.ws_url}/ws/posts"] * SOCKETS, {})
        stop = asyncio.Event()
        followers = [
            asyncio.create_task(client.follow(socket, stop)) for client, socket in zip(clients, sockets, strict=True)
        ]
        async with httpx.AsyncClient(base_url=server.http_url) as api:
            await wait_until(lambda: total_connections_are(api, SOCKETS), timeout=20)
            writer = Writer(api, token)
            readiness: list[tuple[float, int]] = []
            writing = asyncio.create_task(writer.run())
            probing = asyncio.create_task(probe(api, "/readyz", readiness, writer.stopped))
            await asyncio.sleep(2)
            old_master = setup.master.port
            setup.master.kill()
            killed_at = time.monotonic()
            await wait_until(lambda: setup.master_port() not in (None, old_master), timeout=30)
            promoted_at = time.monotonic()
            promoted_writes = len(writer.answers)
            await wait_until(lambda: len(writer.answers) > promoted_writes + 3, timeout=30)
            after_promotion = int((await api.get("/api/posts/", params={"page_size": 1})).headers["X-Channel-Seq"])
            await wait_until(lambda: all(client.last_seq >= after_promotion for client in clients), timeout=60)
            flowing_at = time.monotonic()
            await asyncio.sleep(3)
            writer.stopped.set()
            await writing
            await probing
            final_seq = int((await api.get("/api/posts/", params={"page_size": 1})).headers["X-Channel-Seq"])
            await wait_until(lambda: all(client.last_seq >= final_seq for client in clients), timeout=60)
            await wait_until(lambda: total_connections_are(api, SOCKETS), timeout=30)
            # Presence is right again too: the anonymous sockets of both workers, and this one.
            asker = await Socket.open(f"{server.ws_url}/ws/posts")
            await asker.connected()

            async def everyone_is_present() -> bool:
                await asker.send({"type": "get_presence"})
                while (frame := await asker.recv())["type"] != "presence":
                    pass
                return frame["data"]["anonymous"] == SOCKETS + 1

            await wait_until(everyone_is_present, timeout=30, interval=0.5)
            await asker.close()
        stop.set()
        for follower in followers:
            follower.cancel()
        outcome = outcome_of(clients, final_seq, killed_at)
        print(
            f"promoted {promoted_at - killed_at:.1f}s after the kill; every socket past a post-promotion write "
            f"{flowing_at - promoted_at:.1f}s after the promotion; {len(writer.answers)} writes, readyz seen "
            f"{sorted({status for _, status in readiness})}"
        )
        assert writer.statuses() == [201] * len(writer.answers)  # no write failed: none waits on Redis
        assert final_seq == len(writer.answers)
        assert (outcome.gaps, outcome.duplicates, outcome.behind, outcome.other_closes) == (0, 0, 0, [])
        assert outcome.closed_1012 == 0  # sockets stayed open
        assert readiness[-1][1] == 200
        log = server.log()
        assert "Traceback" not in log, log[-3000:]
        assert log.count("Redis failover: master 'rtmaster' is now") >= 1, log[-3000:]
    finally:
        setup.stop()


async def test_postgresql_restarted_under_load_answers_every_write_and_loses_no_committed_event(
    live_stack, postgres_cluster
):
    admin = postgres_cluster.url
    with psycopg.connect(admin.replace("postgres://", "postgresql://"), autocommit=True) as connection:
        connection.execute('CREATE DATABASE "realtime"')
    stack = live_stack(
        REALTIME_MAX_SOCKETS_PER_ADDRESS="10000",
        REALTIME_CONNECTS_PER_ADDRESS_PER_MIN="10000",
        DATABASE_LOCK_TIMEOUT_SECS="1",
    )
    stack.env["DATABASE_URL"] = admin.rsplit("/", 1)[0] + "/realtime"
    stack.manage("migrate", "--noinput")
    token = stack.create_user("writer@example.com")
    server = stack.start_server("serve")
    clients, sockets = await open_clients([f"{server.ws_url}/ws/posts"] * 20, {})
    stop = asyncio.Event()
    followers = [
        asyncio.create_task(client.follow(socket, stop)) for client, socket in zip(clients, sockets, strict=True)
    ]
    async with httpx.AsyncClient(base_url=server.http_url) as api:
        writer = Writer(api, token)
        readiness: list[tuple[float, int]] = []
        liveness: list[tuple[float, int]] = []
        writing = asyncio.create_task(writer.run())
        probes = [
            asyncio.create_task(probe(api, "/readyz", readiness, writer.stopped)),
            asyncio.create_task(probe(api, "/healthz", liveness, writer.stopped)),
        ]
        await asyncio.sleep(1.5)
        down_at = time.monotonic()
        await asyncio.to_thread(postgres_cluster.stop, "fast")
        await asyncio.sleep(2)
        await asyncio.to_thread(postgres_cluster.start)
        up_at = time.monotonic()
        first_after = len(writer.answers)
        await asyncio.sleep(2)
        writer.stopped.set()
        await writing
        for task in probes:
            await task
        final_seq = int((await api.get("/api/posts/", params={"page_size": 1})).headers["X-Channel-Seq"])
        await wait_until(lambda: all(client.last_seq >= final_seq for client in clients), timeout=60)
    stop.set()
    for follower in followers:
        follower.cancel()
    statuses = writer.statuses()
    during = [(status, secs, headers) for sent, status, secs, headers in writer.answers if down_at <= sent < up_at]
    print(f"{len(statuses)} writes: {statuses.count(201)} created, {statuses.count(503)} answered 503")
    assert set(statuses) <= {201, 503}, statuses  # every write answered: created, or 503 to retry
    assert all(secs < 1 for _, status, secs, _ in writer.answers if status == 503)
    assert all(headers.get("retry-after") for status, _, headers in during if status == 503)
    assert 503 in statuses  # the outage was seen
    # The first request after the restart succeeds: no pooled connection from before it is reused.
    assert [status for _, status, _, _ in writer.answers[first_after:]] == [201] * (len(writer.answers) - first_after)
    assert final_seq == statuses.count(201)  # every committed write is an event, and only those
    outcome = outcome_of(clients, final_seq, down_at)
    assert (outcome.gaps, outcome.duplicates, outcome.behind, outcome.other_closes, outcome.closed_1012) == (
        0,
        0,
        0,
        [],
        0,
    )
    assert 503 in {status for at, status in readiness if down_at <= at < up_at}
    assert {status for _, status in liveness} == {200}
    log = server.log()
    assert "Traceback" not in log and " 500 " not in log, log[-3000:]
