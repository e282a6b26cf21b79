"""
`make serve`: the production server (realtime_site/serve.py), refusing what cannot
work, serving the page's files with DEBUG off, spreading sockets over its workers, and
closing sockets with 1012 on SIGTERM so clients resume elsewhere with nothing lost.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import django
import httpx
import pytest
import redis

from testing.api import total_connections_are
from testing.live_server import PROJECT_DIR, base_env, free_port, listeners_on
from testing.sockets import Socket, open_counting_refusals
from testing.wait import wait_until


def run_serve(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = base_env(**env)
    if not environment["DJANGO_SECRET_KEY"]:
        del environment["DJANGO_SECRET_KEY"]
    return subprocess.run(
        [sys.executable, "-m", "realtime_site.serve", *args],
        cwd=PROJECT_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_more_than_one_worker_without_redis_is_refused_with_the_reason():
    completed = run_serve("--workers", "2", "--port", "1")
    assert completed.returncode == 2
    assert "WORKERS=2 needs REDIS_URL" in completed.stderr


def test_no_secret_key_is_refused_with_how_to_make_one():
    completed = run_serve("--port", "1", DJANGO_SECRET_KEY="")
    assert completed.returncode == 2
    assert "DJANGO_SECRET_KEY is not set" in completed.stderr and "secrets.token_urlsafe" in completed.stderr


def test_a_database_that_does_not_exist_is_refused_in_one_line_naming_database_url(postgres_admin_url):
    url = f"{postgres_admin_url.rsplit('/', 1)[0]}/rt_no_such_database"
    completed = run_serve("--port", "1", DATABASE_URL=url)
    assert completed.returncode == 2
    assert completed.stderr.splitlines() == [
        'serve: DATABASE_URL names the database "rt_no_such_database", which does not exist on 127.0.0.1:5432. '
        "Create it (createdb -h 127.0.0.1 -U postgres rt_no_such_database), then start again."
    ]


def test_a_postgresql_that_does_not_answer_is_refused_in_one_line_naming_database_url():
    port = free_port()
    completed = run_serve("--port", "1", DATABASE_URL=f"postgres://postgres@127.0.0.1:{port}/realtime")
    assert completed.returncode == 2
    assert completed.stderr.splitlines() == [
        f"serve: DATABASE_URL: no PostgreSQL answers at 127.0.0.1:{port}; "
        "start it, or fix the host and port in DATABASE_URL."
    ]


def test_a_wrong_database_password_is_refused_in_one_line_naming_database_url(postgres_cluster):
    url = postgres_cluster.url.replace(":cluster-pass-42@", ":not-the-password@")
    completed = run_serve("--port", "1", DATABASE_URL=url)
    assert completed.returncode == 2
    assert completed.stderr.splitlines() == [
        f"serve: DATABASE_URL: PostgreSQL at 127.0.0.1:{postgres_cluster.port} refused the password of user "
        '"postgres"; fix the password.'
    ]


def test_a_sqlite_file_in_a_missing_directory_is_refused_in_one_line(tmp_path):
    completed = run_serve("--port", "1", DATABASE_URL=f"sqlite:///{tmp_path}/missing/db.sqlite3")
    assert completed.returncode == 2
    assert len(completed.stderr.splitlines()) == 1 and "the directory must exist" in completed.stderr


@pytest.mark.live_server
def test_a_clean_start_says_where_it_listens_warns_of_nothing_and_probes_answer_any_host(live_stack):
    """As docs/deploy.md sets it up: ALLOWED_HOSTS is the public name; probes come by address."""
    stack = live_stack(DJANGO_ALLOWED_HOSTS="example.com")
    server = stack.start_server("serve")
    with httpx.Client(base_url=server.http_url, timeout=10) as by_address:
        assert by_address.get("/healthz").status_code == 200
        ready = by_address.get("/readyz")
        assert (ready.status_code, ready.json()["status"]) == (200, "ok")
        assert by_address.get("/api/posts/").status_code == 400
    jquery = Path(django.__file__).parent / "contrib/admin/static/admin/js/vendor/jquery/jquery.js"
    with httpx.Client(base_url=server.http_url, headers={"Host": "example.com"}, timeout=10) as public:
        # Bigger than a batch of the pool's reads (http_handler.STREAM_BATCH_BYTES): every byte, in order.
        assert public.get("/static/admin/js/vendor/jquery/jquery.js").content == jquery.read_bytes()
    server.stop()
    log = server.log()
    assert f"serve: worker 1 of 1 listening on http://127.0.0.1:{server.port}; database SQLite (" in log
    assert "; channel layer in memory" in log
    refused = [line for line in log.splitlines() if "/api/posts/ 400" in line]
    assert len(refused) == 1 and "refused: Invalid HTTP_HOST header: '127.0.0.1:" in refused[0], log
    assert "Traceback" not in log and "Warning" not in log and "ERROR" not in log, log


@pytest.mark.live_server
@pytest.mark.redis
async def test_two_workers_on_one_port_serve_static_files_and_deliver_across_workers(live_stack):
    stack = live_stack(use_redis=True)
    token = stack.create_user("writer@example.com")
    server = stack.start_server("serve", workers=2)
    async with httpx.AsyncClient(base_url=server.http_url, timeout=10) as api:
        script = await api.get("/static/broadcasting/realtime.js")
        assert script.status_code == 200 and "LiveChannel" in script.text
        missing = await api.get("/no-such-page/")
        assert missing.status_code == 404 and "Traceback" not in missing.text  # DEBUG is off
        sockets = [await Socket.open(f"{server.ws_url}/ws/posts") for _ in range(20)]
        for socket in sockets:
            await socket.connected()
        response = await api.post(
            "/api/posts/", json={"title": "to all", "published": True}, headers={"Authorization": f"Token {token}"}
        )
        assert response.status_code == 201
        for socket in sockets:
            assert (await socket.recv("created"))["data"]["title"] == "to all"
        # Each worker counts itself live and the other as it last wrote (SHARED_WRITE_DELAY_SECS).
        await wait_until(lambda: total_connections_are(api, 20))
    pid = server.process.pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    workers = [pid for pid in children if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]
    assert len(workers) == 2
    for socket in sockets:
        await socket.close()


@pytest.mark.live_server
@pytest.mark.redis
async def test_sigterm_closes_sockets_with_1012_and_a_client_resumes_on_another_server(live_stack):
    stack = live_stack(use_redis=True)
    token = stack.create_user("writer@example.com")
    leaving, staying = stack.start_server("serve"), stack.start_server("serve")
    socket = await Socket.open(f"{leaving.ws_url}/ws/posts")
    last_seq = (await socket.connected())["seq"]
    headers = {"Authorization": f"Token {token}"}
    async with httpx.AsyncClient(timeout=10) as api:

        async def write(number: int) -> None:
            response = await api.post(
                f"{staying.http_url}/api/posts/", json={"title": f"post {number}", "published": True}, headers=headers
            )
            assert response.status_code == 201

        await write(0)
        last_seq = (await socket.recv("created"))["seq"]
        leaving.process.send_signal(signal.SIGTERM)
        assert await socket.closed_with() == 1012
        for number in range(1, 6):  # written while the client is away
            await write(number)
        leaving.process.wait(timeout=15)
        assert leaving.process.returncode in (0, -signal.SIGTERM)  # uvicorn exits by the signal it handled

    resumed = await Socket.open(f"{staying.ws_url}/ws/posts?since={last_seq}")
    await resumed.connected()
    replayed = [await resumed.recv("created") for _ in range(5)]
    assert [frame["seq"] for frame in replayed] == list(range(last_seq + 1, last_seq + 6))
    assert [frame["data"]["title"] for frame in replayed] == [f"post {number}" for number in range(1, 6)]
    await resumed.close()


@pytest.mark.live_server
@pytest.mark.redis
def test_a_worker_on_redis_opens_its_event_senders_connection_before_the_first_write(live_stack, own_redis):
    """
    The sender thread connects as the worker starts (layer/sender.py, "Warmed up"): on a Redis
    of the test's own, with no socket and no write yet, the worker has published once,
    the warm-up to a group nobody is in, and nothing else.
    """
    redis_server = own_redis()
    listener = redis.Redis.from_url(redis_server.url).pubsub()
    listener.psubscribe("*")
    assert listener.get_message(timeout=5)["type"] == "psubscribe"
    stack = live_stack(redis_url=redis_server.url)
    stack.start_server("serve")
    try:
        published = []
        while (message := listener.get_message(timeout=1)) is not None:
            published.append(message["channel"].decode())
        assert published == ["realtime:db0:layer__group__live.sender-warm-up"]
    finally:
        listener.close()


class Stop(Exception):
    pass


def test_the_heap_freezer_freezes_and_periodically_reclaims(monkeypatch):
    from realtime_site import serve

    calls: list[str] = []

    def sleep(secs: float) -> None:
        if len(calls) >= 6:
            raise Stop

    monkeypatch.setattr(serve.gc, "freeze", lambda: calls.append("freeze"))
    monkeypatch.setattr(serve.gc, "unfreeze", lambda: calls.append("unfreeze"))
    monkeypatch.setattr(serve.gc, "collect", lambda: calls.append("collect"))
    monkeypatch.setattr(serve.time, "sleep", sleep)
    with pytest.raises(Stop):
        serve.freeze_heap_forever(freeze_secs=1, reclaim_secs=3)
    assert calls == ["freeze", "freeze", "unfreeze", "collect", "freeze", "freeze"]


@pytest.mark.live_server
def test_migrate_option_prepares_a_fresh_database_before_serving(tmp_path):
    from testing.live_server import ServerProcess

    env = base_env(DATABASE_URL=f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
    server = ServerProcess(env=env, log_path=tmp_path / "serve.log", kind="serve", serve_args=("--migrate",))
    server.start()
    try:
        assert httpx.get(f"{server.http_url}/api/posts/", timeout=10).status_code == 200
    finally:
        server.stop()


def worker_pids(supervisor_pid: int) -> list[int]:
    """The supervisor's worker processes (not multiprocessing's resource tracker)."""
    children = Path(f"/proc/{supervisor_pid}/task/{supervisor_pid}/children").read_text().split()
    return [int(pid) for pid in children if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]


@pytest.mark.live_server
@pytest.mark.redis
@pytest.mark.security
async def test_a_killed_worker_is_replaced_and_the_user_cap_holds_for_the_whole_server(live_stack):
    """The cap was split into per-worker shares: a user got 50 of 100 sockets with one of two workers alive."""
    stack = live_stack(
        use_redis=True,
        REALTIME_MAX_SOCKETS_PER_USER="10",
        REALTIME_PRESENCE_TTL_SECS="3",
        REALTIME_PRESENCE_REFRESH_SECS="1",
    )
    token = stack.create_user("many@example.com")
    server = stack.start_server("serve", workers=2)
    assert server.process is not None
    url = f"{server.ws_url}/ws/posts"

    held, refused = await open_counting_refusals(url, 12, token=token)
    assert (len(held), refused) == (10, 2)  # wherever the kernel put each one

    victim = worker_pids(server.process.pid)[0]
    killed_at = time.monotonic()
    os.kill(victim, signal.SIGKILL)
    await wait_until(
        lambda: "started again" in server.log() and listeners_on(server.port) == 2,
        timeout=5,
        message="the killed worker was not replaced",
    )
    replaced_secs = time.monotonic() - killed_at
    assert victim not in worker_pids(server.process.pid)
    for socket in held:
        await socket.close()

    async def whole_cap_accepted() -> bool:
        again, _ = await open_counting_refusals(url, 10, token=token)
        for socket in again:
            await socket.close()
        return len(again) == 10

    # The dead worker's counts expire with it (PRESENCE_TTL_SECS), then the cap is whole again.
    await wait_until(whole_cap_accepted, timeout=15, interval=0.5, message="the user's cap stayed short")
    assert replaced_secs < 5


def test_a_worker_that_keeps_dying_stops_make_serve_after_its_restart_budget(monkeypatch):
    """A worker dying as it starts (say, a bad setting) must not be restarted forever."""
    from realtime_site import serve

    monkeypatch.setattr(serve, "WORKER_RESTARTS", 2)
    monkeypatch.setattr(serve, "run_worker", _die_at_once)
    started = time.monotonic()
    assert serve.supervise("127.0.0.1", 0, 2) == 1
    assert time.monotonic() - started < 30


def _die_at_once(host: str, port: int) -> None:
    os._exit(3)


@pytest.mark.live_server
async def test_every_log_line_of_make_serve_is_json_under_log_format_json(live_stack):
    """uvicorn's own lines and Python's warnings once stayed plain text."""
    server = live_stack(LOG_FORMAT="json", DJANGO_LOG_LEVEL="INFO").start_server("serve", workers=1)
    socket = await Socket.open(f"{server.ws_url}/ws/posts")
    await socket.connected()
    await socket.close()
    async with httpx.AsyncClient(base_url=server.http_url) as client:
        assert (await client.get("/api/posts/")).status_code == 200
    server.stop()
    lines = [line for line in server.log().splitlines() if line.strip()]
    assert any("Started server process" in line for line in lines)
    for line in lines:
        record = json.loads(line)  # fails on any plain line
        assert record["message"]
