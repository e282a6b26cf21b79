"""
Fixtures shared by every app's tests.

``live_stack`` starts real server processes on real ports over a fresh database
(PostgreSQL when DATABASE_URL points there, or when a test asks for it; else a SQLite
file) and, when asked, a real Redis under a key prefix of its own.
"""

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from testing import services
from testing.live_server import (
    LiveStack,
    base_env,
    create_postgres_database,
    drop_postgres_database,
)
from testing.postgres_cluster import PostgresCluster, remove_postgres_cluster, start_postgres_cluster


@pytest.fixture
def redis_url() -> str:
    """A Redis that answers (skips, or fails under CI, when there is none)."""
    url = services.redis_url()
    services.require(services.redis_answers(url), f"Redis is not answering at {url}")
    return url


@pytest.fixture
def postgres_admin_url() -> str:
    """A PostgreSQL server the tests may create databases on."""
    url = services.postgres_url()
    services.require(services.postgres_answers(url), f"PostgreSQL is not answering at {url}")
    return url


def _default_database() -> str:
    return "postgres" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "sqlite"


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory) -> Path:
    """A SQLite file migrated once per test process; each live stack starts from a copy."""
    path = tmp_path_factory.mktemp("migrated") / "template.sqlite3"
    LiveStack(env=base_env(DATABASE_URL=f"sqlite:///{path}"), work_dir=path.parent).manage("migrate", "--noinput")
    return path


@pytest.fixture
def live_stack(tmp_path, request) -> Iterator[Callable[..., LiveStack]]:
    """
    Factory: ``live_stack(database="sqlite"|"postgres"|None, use_redis=False,
    redis_url=None, **env)`` makes a fresh migrated database (a SQLite one is a copy of
    one migrated per test process) and returns a LiveStack to start
    servers on (``redis_url`` points at a Redis of the test's own). Everything is torn
    down after the test.
    """
    cleanups: list[Callable[[], None]] = []

    def make(
        database: str | None = None, use_redis: bool = False, redis_url: str | None = None, **env_overrides: str
    ) -> LiveStack:
        database = database or _default_database()
        env = base_env(**env_overrides)
        if database == "postgres":
            admin_url = request.getfixturevalue("postgres_admin_url")
            url, name = create_postgres_database(admin_url)
            cleanups.append(lambda: drop_postgres_database(admin_url, name))
            env["DATABASE_URL"] = url
        else:
            database_file = tmp_path / "live.sqlite3"
            shutil.copyfile(request.getfixturevalue("migrated_sqlite"), database_file)
            env["DATABASE_URL"] = f"sqlite:///{database_file}"
        if redis_url is not None:
            env["REDIS_URL"] = redis_url
        elif use_redis:
            url = request.getfixturevalue("redis_url")
            prefix = services.unique_name("rt_test")
            env["REDIS_URL"] = url
            env["REDIS_KEY_PREFIX"] = prefix
            cleanups.append(lambda: _delete_redis_keys(url, prefix))
        stack = LiveStack(env=env, work_dir=tmp_path)
        cleanups.append(stack.stop)
        if database == "postgres":
            stack.manage("migrate", "--noinput")
        return stack

    yield make
    for cleanup in reversed(cleanups):
        cleanup()


@pytest.fixture
def postgres_cluster() -> Iterator["PostgresCluster"]:
    """A PostgreSQL cluster of the test's own (testing/postgres_cluster.py), removed after it."""
    cluster = start_postgres_cluster()
    yield cluster
    remove_postgres_cluster(cluster)


def _delete_redis_keys(url: str, prefix: str) -> None:
    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture(autouse=True)
def rest_responses_match_the_openapi_document(monkeypatch) -> None:
    """Every REST response a test reads over httpx (the live tests') is checked against /api/schema/."""
    import httpx

    from testing.contract import check_rest_response

    sync_send, async_send = httpx.Client.send, httpx.AsyncClient.send

    def send(client, request, *args, **kwargs):
        response = sync_send(client, request, *args, **kwargs)
        if not kwargs.get("stream"):
            check_rest_response(response)
        return response

    async def asend(client, request, *args, **kwargs):
        response = await async_send(client, request, *args, **kwargs)
        if not kwargs.get("stream"):
            check_rest_response(response)
        return response

    monkeypatch.setattr(httpx.Client, "send", send)
    monkeypatch.setattr(httpx.AsyncClient, "send", asend)


# --- In-process fixtures (pytest-django) ----------------------------------------------


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    """Each test starts with no counts in the cache (throttles, socket connect rates)."""
    from django.core.cache import cache

    cache.clear()
    yield


USER_ADMIN_PERMISSIONS = ("users.add_user", "users.change_user", "users.delete_user", "users.view_user")


@pytest.fixture
def make_user(db) -> Callable[..., "object"]:
    """
    Factory: make_user(email, staff=False, password=..., perms=None) creates a user.
    A staff user gets the admin's user-management permissions (``perms=()`` for none,
    or a list of "app.codename" to give exactly those).
    """
    from django.contrib.auth.models import Permission

    from users.models import User

    counter = iter(range(1, 10_000))

    def make(
        email: str | None = None,
        *,
        staff: bool = False,
        password: str = "s3cret-pass-42",
        perms: tuple[str, ...] | None = None,
        **extra,
    ):
        email = email or f"user{next(counter)}@example.com"
        user = User.objects.create_user(
            email, password, name=extra.pop("name", email.split("@")[0]), is_staff=staff, **extra
        )
        if perms is None:
            perms = USER_ADMIN_PERMISSIONS if staff else ()
        for perm in perms:
            app_label, codename = perm.split(".")
            user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
        return User.objects.get(pk=user.pk)  # a fresh instance: no cached permissions

    return make


@pytest.fixture
def api_client_for() -> Callable[..., "object"]:
    """Factory: api_client_for(user) gives a DRF APIClient authenticated by that user's token."""
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    def make(user=None):
        client = APIClient()
        if user is not None:
            token, _ = Token.objects.get_or_create(user=user)
            client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return make


@pytest.fixture
def own_redis(tmp_path) -> Iterator[Callable[..., "object"]]:
    """Factory: own_redis(keep_data=False) starts a redis-server of the test's own."""
    from testing.redis_server import OwnRedis

    started: list[OwnRedis] = []

    def make(keep_data: bool = False) -> OwnRedis:
        services.require(OwnRedis.available(), "redis-server is not installed")
        server = OwnRedis(tmp_path / f"redis-{len(started)}", keep_data=keep_data).start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()
