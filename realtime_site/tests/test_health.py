"""/healthz and /readyz (health.py): what a load balancer or an orchestrator asks."""

import json
import subprocess
import sys

import pytest
from django.test import RequestFactory, override_settings

from testing.live_server import PROJECT_DIR, base_env, free_port
from testing.redis_server import redis_channel_layers

pytestmark = pytest.mark.database


def test_healthz_says_the_process_answers(client):
    response = client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


@pytest.mark.django_db(transaction=True)
def test_readyz_names_each_check_and_passes_on_a_migrated_database(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "migrations": "ok", "channel_layer": "ok"}}


@pytest.mark.django_db(transaction=True)
def test_readyz_is_503_naming_the_channel_layer_when_redis_is_unreachable(client):
    dead_layer = redis_channel_layers(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=1)
    with override_settings(CHANNEL_LAYERS=dead_layer):
        response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 503 and body["status"] == "fail"
    assert body["checks"]["database"] == "ok" and body["checks"]["migrations"] == "ok"
    assert "channel layer round trip failed" in body["checks"]["channel_layer"]


def test_readyz_is_503_on_a_database_not_migrated_yet(tmp_path):
    """A real process on a fresh SQLite file, before `migrate`."""
    env = base_env(DATABASE_URL=f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
    code = (
        "import json\n"
        "from django.test import Client\n"
        "response = Client(HTTP_HOST='127.0.0.1').get('/readyz')\n"
        "print('READYZ', response.status_code, json.dumps(response.json()))\n"
    )
    completed = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code], cwd=PROJECT_DIR, env=env, capture_output=True, text=True
    )
    line = next(line for line in completed.stdout.splitlines() if line.startswith("READYZ"))
    _, status, body = line.split(" ", 2)
    checks = json.loads(body)["checks"]
    assert status == "503"
    assert "not applied" in checks["migrations"]
    assert checks["database"] == "ok"


@pytest.mark.django_db(transaction=True)
def test_readyz_loads_the_migration_graph_once_per_process(client, monkeypatch):
    """/readyz is public: a client hammering it must not make every call load the migration graph."""
    from realtime_site import health

    assert client.get("/readyz").status_code == 200

    def graph_loaded_again(*args, **kwargs):
        raise AssertionError("the migration graph was loaded again")

    monkeypatch.setattr(health, "MigrationExecutor", graph_loaded_again)
    response = client.get("/readyz")
    assert response.status_code == 200 and response.json()["checks"]["migrations"] == "ok"


@pytest.mark.django_db(transaction=True)
async def test_the_probes_answer_on_the_loop_without_django_or_a_host_check():
    """HealthProbes: /healthz and /readyz never reach Django (no request thread, no ALLOWED_HOSTS)."""
    import httpx

    from realtime_site.health import HealthProbes

    async def django_is_busy(scope, receive, send):
        raise AssertionError("the probe went to Django")

    transport = httpx.ASGITransport(app=HealthProbes(django_is_busy))
    async with httpx.AsyncClient(transport=transport, base_url="http://10.1.2.3:8000") as client:
        response = await client.get("/healthz")
        assert (response.status_code, response.json()) == (200, {"status": "ok"})
        assert (await client.head("/healthz")).content == b""
        ready = await client.get("/readyz")
        assert (ready.status_code, ready.json()["checks"]["database"]) == (200, "ok")
        with pytest.raises(AssertionError, match="went to Django"):
            await client.get("/healthz/other")


def test_a_lock_timeout_is_answered_503_with_retry_after(settings):
    from django.db import OperationalError

    from realtime_site.busy import DatabaseBusyMiddleware

    settings.DATABASE_LOCK_TIMEOUT_SECS = 2.5
    middleware = DatabaseBusyMiddleware(lambda request: None)
    response = middleware.process_exception(
        RequestFactory().post("/api/posts/"), OperationalError("database is locked")
    )
    assert response is not None and (response.status_code, response["Retry-After"]) == (503, "3")
    assert middleware.process_exception(RequestFactory().post("/"), OperationalError("no such table")) is None


def test_a_database_that_is_gone_is_answered_503_with_retry_after_and_a_lock_timeout_is_not_confused_with_it():
    import psycopg
    from django.db import InterfaceError, OperationalError

    from realtime_site.busy import DatabaseBusyMiddleware, is_database_unavailable

    def wrapped(cause: Exception) -> OperationalError:
        error = OperationalError(str(cause))
        error.__cause__ = cause
        return error

    refused = wrapped(psycopg.OperationalError("connection failed: Connection refused"))
    assert is_database_unavailable(refused) and is_database_unavailable(InterfaceError("connection already closed"))
    assert not is_database_unavailable(OperationalError("no such table: posts_post"))
    response = DatabaseBusyMiddleware(lambda request: None).process_exception(
        RequestFactory().post("/api/posts/"), refused
    )
    assert response is not None and (response.status_code, response["Retry-After"]) == (503, "2")
