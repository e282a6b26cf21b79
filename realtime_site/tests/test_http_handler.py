"""OneThreadASGIHandler (http_handler.py): HTTP through the project's ASGI app, one thread hop per request."""

import asyncio
import threading

import httpx
import pytest
from asgiref import sync

from realtime_site.asgi import application, django_asgi_app
from realtime_site.http_handler import OneThreadASGIHandler

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def loop_crossings(monkeypatch) -> dict[str, int]:
    """Counts every sync_to_async and async_to_sync call made while a test runs."""
    counts = {"sync_to_async": 0, "async_to_sync": 0}
    real_sync_to_async, real_async_to_sync = sync.SyncToAsync.__call__, sync.AsyncToSync.__call__

    async def counted_sync_to_async(self, *args, **kwargs):
        counts["sync_to_async"] += 1
        return await real_sync_to_async(self, *args, **kwargs)

    def counted_async_to_sync(self, *args, **kwargs):
        counts["async_to_sync"] += 1
        return real_async_to_sync(self, *args, **kwargs)

    monkeypatch.setattr(sync.SyncToAsync, "__call__", counted_sync_to_async)
    monkeypatch.setattr(sync.AsyncToSync, "__call__", counted_async_to_sync)
    return counts


def over_asgi(*requests: tuple[str, str, dict], app=application, at_once: bool = False) -> list[httpx.Response]:
    """Each (method, path, kwargs) through ``app`` (the project's ASGI application), in order or all at once."""

    async def run() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            sends = [client.request(method, path, **kwargs) for method, path, kwargs in requests]
            if at_once:
                return await asyncio.gather(*sends)
            return [await send for send in sends]

    return asyncio.run(run())


def http_scope(method: str, path: str) -> dict:
    """A plain HTTP request's ASGI scope, for requests driven by hand."""
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": b"",
        "headers": [(b"host", b"localhost"), (b"content-type", b"application/json")],
        "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000),
    }  # fmt: skip


def token_header(user) -> dict[str, str]:
    from rest_framework.authtoken.models import Token

    return {"Authorization": f"Token {Token.objects.get_or_create(user=user)[0].key}"}


def test_the_project_serves_http_with_the_one_thread_handler():
    assert isinstance(django_asgi_app, OneThreadASGIHandler)
    assert not asyncio.iscoroutinefunction(django_asgi_app._middleware_chain)


def test_a_rest_write_crosses_the_event_loop_three_times(make_user, loop_crossings):
    headers = token_header(make_user("staff@example.com", staff=True))
    body = {"email": "new@example.com", "password": "a-long-password-1", "full_name": "New"}

    (created,) = over_asgi(("POST", "/api/users/", {"json": body, "headers": headers}))

    assert created.status_code == 201, created.text
    assert created.json()["email"] == "new@example.com"
    # Request start, the whole middleware chain with the view, the response's close.
    # Django's stock handler makes twelve here: one per sync middleware method and the view.
    assert loop_crossings == {"sync_to_async": 3, "async_to_sync": 0}


def test_a_request_starts_no_thread_of_its_own(make_user, monkeypatch):
    headers = token_header(make_user("writer@example.com", staff=True))
    over_asgi(("GET", "/api/users/", {"headers": headers}))  # the pool's thread, once
    started: list[str] = []
    real_start = threading.Thread.start

    def counted_start(thread):
        started.append(thread.name)
        real_start(thread)

    monkeypatch.setattr(threading.Thread, "start", counted_start)
    responses = over_asgi(*[("GET", "/api/users/", {"headers": headers})] * 5)

    assert [response.status_code for response in responses] == [200] * 5
    # Django's own __call__ starts one per request (asgiref's ThreadSensitiveContext).
    assert started == []


def test_every_middleware_and_the_view_run_in_one_thread(make_user, settings):
    threads: list[str] = []

    def record_thread(get_response):
        def middleware(request):
            threads.append(threading.current_thread().name)
            return get_response(request)

        return middleware

    settings.MIDDLEWARE = [
        "realtime_site.tests.test_http_handler.outer_thread_recorder",
        *settings.MIDDLEWARE,
        "realtime_site.tests.test_http_handler.inner_thread_recorder",
    ]
    RECORDERS["outer"] = RECORDERS["inner"] = record_thread
    handler = OneThreadASGIHandler()
    user = make_user("someone@example.com")
    headers = token_header(user)

    (response,) = over_asgi(("GET", f"/api/users/{user.pk}/", {"headers": headers}), app=handler)

    assert response.status_code == 200, response.text
    assert len(threads) == 2 and threads[0] == threads[1] != threading.main_thread().name


@pytest.fixture
def pooled_handler(request, settings, monkeypatch):
    """
    A handler with its own pool of threads (one; a test parametrizes it indirectly for
    more) and CONN_MAX_AGE 60, whose middleware records, per request, the thread and
    the database connection it used (``seen``); those connections are closed when the
    test ends.

    One thread by default, because a ThreadPoolExecutor may start a second thread for
    sequential requests: a thread sets its request's result before it counts itself
    idle, so the next request can come in between. The tests that follow a request's
    thread need it to be the one.
    """
    from django.db import connection, transaction

    seen: list[tuple[str, object]] = []  # holding each connection keeps its identity unique

    def record_connection(get_response):
        def middleware(request):
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            seen.append((threading.current_thread().name, connection.connection))
            if request.headers.get("X-Leave-Autocommit-Off"):
                transaction.set_autocommit(False)  # a view that forgot to restore it
            return get_response(request)

        return middleware

    settings.REQUEST_THREADS = getattr(request, "param", 1)
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "realtime_site.tests.test_http_handler.inner_thread_recorder"]
    RECORDERS["inner"] = record_connection
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 60)
    handler = OneThreadASGIHandler()
    handler.seen = seen
    yield handler
    handler.threads.shutdown(wait=True)
    for _, kept in seen:
        kept.close()  # a PostgreSQL test database cannot be dropped while one is open


def healthz_requests(count: int, headers: dict | None = None) -> list[tuple[str, str, dict]]:
    return [("GET", "/healthz", {"headers": headers})] * count


@pytest.mark.database
def test_requests_reuse_the_pools_threads_and_their_connections(pooled_handler):
    responses = over_asgi(*healthz_requests(5), app=pooled_handler)

    assert [response.status_code for response in responses] == [200] * 5
    # One after another: one thread, one database connection kept for CONN_MAX_AGE.
    threads, connections = zip(*pooled_handler.seen, strict=True)
    assert len(set(threads)) == 1 and all(one is connections[0] for one in connections)
    thread = threads[0]
    assert thread.startswith("django-request") and thread != threading.main_thread().name


@pytest.mark.database
@pytest.mark.parametrize("pooled_handler", [2], indirect=True)
def test_requests_at_once_use_at_most_request_threads_threads(pooled_handler):
    responses = over_asgi(*healthz_requests(20), app=pooled_handler, at_once=True)

    assert [response.status_code for response in responses] == [200] * 20
    assert len({thread for thread, _ in pooled_handler.seen}) <= 2
    assert len({id(connection) for _, connection in pooled_handler.seen}) <= 2


def test_a_slow_upload_or_an_unread_response_holds_no_request_thread(settings):
    """With one request thread (SQLite's), a client that never finishes its body or never reads blocks no one."""
    settings.REQUEST_THREADS = 1
    handler = OneThreadASGIHandler()

    async def run() -> httpx.Response:
        uploader_stalled, downloader_stalled, let_go = asyncio.Event(), asyncio.Event(), asyncio.Event()

        async def uploader_receive() -> dict:
            if not uploader_stalled.is_set():
                uploader_stalled.set()
                return {"type": "http.request", "body": b'{"a": ', "more_body": True}
            await let_go.wait()  # the rest of the body never comes until the end
            return {"type": "http.disconnect"}

        downloader_body = [{"type": "http.request", "body": b"", "more_body": False}]

        async def downloader_receive() -> dict:
            if downloader_body:
                return downloader_body.pop()
            await let_go.wait()  # Django listens for the disconnect meanwhile
            return {"type": "http.disconnect"}

        async def downloader_send(message: dict) -> None:
            downloader_stalled.set()
            await let_go.wait()  # a client that does not read: the server cannot hand it anything

        async def ignore(message: dict) -> None:
            pass

        stalled = [
            asyncio.create_task(handler(http_scope("POST", "/healthz"), uploader_receive, ignore)),
            asyncio.create_task(handler(http_scope("GET", "/healthz"), downloader_receive, downloader_send)),
        ]
        await asyncio.wait_for(asyncio.gather(uploader_stalled.wait(), downloader_stalled.wait()), 5)
        try:
            transport = httpx.ASGITransport(app=handler)
            async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
                return await asyncio.wait_for(client.get("/healthz"), 5)
        finally:
            let_go.set()
            await asyncio.wait_for(asyncio.gather(*stalled, return_exceptions=True), 5)

    try:
        response = asyncio.run(run())
    finally:
        handler.threads.shutdown(wait=True)

    assert response.status_code == 200


def in_memory_sqlite() -> bool:
    from django.db import connection

    return connection.vendor == "sqlite" and connection.is_in_memory_db()  # type: ignore[attr-defined]


@pytest.fixture
def closable_database(transactional_db) -> None:
    """
    Skips the test on an in-memory SQLite database, which Django never closes. The
    suite's is a file (test_settings.py), so it runs on SQLite and on PostgreSQL; this
    guards a run with other settings. Decided once the test database is set up.
    """
    if in_memory_sqlite():
        pytest.skip("Django never closes an in-memory SQLite database; make test-database runs this")


@pytest.mark.database
def test_a_connection_a_request_left_out_of_autocommit_is_not_reused(closable_database, pooled_handler):
    from django.db import connection

    (broken,) = over_asgi(*healthz_requests(1, {"X-Leave-Autocommit-Off": "1"}), app=pooled_handler)
    after = over_asgi(*healthz_requests(3), app=pooled_handler)

    assert broken.status_code == 200 and [response.status_code for response in after] == [200] * 3
    (thread_before, broken_connection), *later = pooled_handler.seen
    # Closed after the request that broke it; the next request opened a new one and kept it.
    assert {thread for thread, _ in later} == {thread_before}
    assert all(one is later[0][1] for _, one in later) and later[0][1] is not broken_connection
    assert pooled_handler.threads.submit(connection.get_autocommit).result() is True


@pytest.mark.database
def test_with_conn_max_age_0_no_connection_outlives_its_request(closable_database, pooled_handler, monkeypatch):
    from django.db import connection

    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 0)
    over_asgi(*healthz_requests(3), app=pooled_handler)

    assert pooled_handler.threads.submit(lambda: connection.connection).result() is None


RECORDERS: dict[str, object] = {}


def outer_thread_recorder(get_response):
    return RECORDERS["outer"](get_response)


def inner_thread_recorder(get_response):
    return RECORDERS["inner"](get_response)


def test_an_async_view_answers_through_the_sync_chain():
    (ready,) = over_asgi(("GET", "/readyz", {}))
    assert (ready.status_code, ready.json()["status"]) == (200, "ok")


def test_session_sign_in_csrf_and_errors_keep_working(make_user):
    make_user("admin@example.com", staff=True, password="a-long-password-1")

    async def run() -> tuple[httpx.Response, ...]:
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            login_page = await client.get("/admin/login/")
            csrf = client.cookies["csrftoken"]
            no_token = await client.post("/admin/login/", data={"username": "admin@example.com"})
            signed_in = await client.post(
                "/admin/login/?next=/admin/",
                data={"username": "admin@example.com", "password": "a-long-password-1", "csrfmiddlewaretoken": csrf},
                headers={"Referer": "http://localhost/admin/login/"},
            )
            admin = await client.get("/admin/")
            missing = await client.get("/api/no-such-thing/")
            return login_page, no_token, signed_in, admin, missing

    login_page, no_token, signed_in, admin, missing = asyncio.run(run())

    assert login_page.status_code == 200
    assert no_token.status_code == 403
    assert signed_in.status_code == 302 and signed_in.headers["location"] == "/admin/"
    assert admin.status_code == 200 and "Site administration" in admin.text
    assert missing.status_code == 404


def test_a_request_has_its_turn_from_its_body_read_until_its_response_goes_out():
    """While the fan-out waits for requests: not during a slow upload or a slow download."""
    from broadcasting.runtime.request_priority import busy_requests

    seen: dict[str, int] = {}

    async def run() -> None:
        busy = busy_requests()
        response_sent = asyncio.Event()
        body_parts = iter([b'{"a": ', b"1}"])
        reads = 0

        async def receive() -> dict:
            nonlocal reads
            reads += 1
            if reads <= 2:  # the body, slowly: the request does not count yet
                seen[f"while uploading part {reads}"] = busy.count
                await asyncio.sleep(0.01)
                return {"type": "http.request", "body": next(body_parts), "more_body": reads == 1}
            # Django's disconnect listener, once the body is in and the view runs.
            seen["while answering"] = busy.count
            await response_sent.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            if message["type"] == "http.response.body" and not message.get("more_body"):
                seen["when the response is sent"] = busy.count
                response_sent.set()

        await django_asgi_app(http_scope("POST", "/healthz"), receive, send)
        seen["after"] = busy.count

    asyncio.run(run())

    assert seen == {
        "while uploading part 1": 0,
        "while uploading part 2": 0,
        "while answering": 1,
        "when the response is sent": 0,
        "after": 0,
    }
