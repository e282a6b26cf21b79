"""
The FastAPI guide's walkthrough against a real server process on a port, spoken to by a
real WebSocket client: daphne on the in-memory layer (one process, as `make run`),
and `manage.py runserver` itself.
"""

import httpx
import pytest

from testing.api import auth
from testing.sockets import Socket

pytestmark = pytest.mark.live_server


async def test_the_guides_walkthrough_on_one_process_with_the_in_memory_layer(live_stack):
    stack = live_stack(database="sqlite")
    staff_token = stack.create_user("staff@example.com", staff=True)
    server = stack.start_server()
    api = httpx.AsyncClient(base_url=server.http_url, timeout=10)

    tab1 = await Socket.open(f"{server.ws_url}/ws/users?client_id=tab-1", token=staff_token)
    tab2 = await Socket.open(f"{server.ws_url}/ws/users/?client_id=tab-2", token=staff_token)
    posts = await Socket.open(f"{server.ws_url}/ws/posts")
    first = await tab1.connected()
    assert first["client_id"] == "tab-1"
    assert (await tab2.connected())["client_id"] == "tab-2"
    generated = await posts.connected()
    assert len(generated["client_id"]) == 36

    await tab1.send({"type": "ping"})
    assert await tab1.recv("pong") == {"type": "pong", "message": "pong"}
    await tab1.send({"type": "get_stats"})
    stats = (await tab1.recv("stats"))["data"]
    assert stats == {"total_channels": 2, "channels": {"posts": 1, "users": 2}, "total_connections": 3}
    assert (await api.get("/ws/stats")).json() == stats

    # created / updated / deleted, with exclude_client through X-Client-ID.
    response = await api.post(
        "/api/users/",
        json={"email": "user@example.com", "name": "John Doe"},
        headers=auth(staff_token, "tab-1"),
    )
    assert response.status_code == 201
    user_id = response.json()["id"]
    created = await tab2.recv("created")
    assert created["data"] == {
        **created["data"],
        "id": user_id,
        "email": "user@example.com",
        "name": "John Doe",
    }
    assert set(created["data"]) >= {"id", "email", "name", "is_active", "created_at"}
    # The writing tab gets no copy of its own write, only the seq it covers.
    assert await tab1.recv("sync") == {"type": "sync", "channel": "users", "seq": created["seq"]}

    response = await api.patch(f"/api/users/{user_id}/", json={"name": "John Updated"}, headers=auth(staff_token))
    assert response.status_code == 200
    updated = [await tab.recv("updated") for tab in (tab1, tab2)]
    assert {frame["data"]["name"] for frame in updated} == {"John Updated"}

    assert (await api.delete(f"/api/users/{user_id}/", headers=auth(staff_token))).status_code == 204
    deleted = await tab2.recv("deleted")
    assert deleted["data"] == {"id": user_id}
    assert [created["seq"], updated[1]["seq"], deleted["seq"]] == [first["seq"] + n for n in (1, 2, 3)]

    # A published post reaches the anonymous posts socket.
    response = await api.post("/api/posts/", json={"title": "Live", "published": True}, headers=auth(staff_token))
    assert (await posts.recv("created"))["data"]["id"] == response.json()["id"]

    # Anonymous writes are refused and send nothing.
    assert (await api.post("/api/posts/", json={"title": "nope"})).status_code in (401, 403)
    await posts.assert_silent()

    for socket in (tab1, tab2, posts):
        await socket.close()
    await api.aclose()


async def test_runserver_serves_api_admin_and_sockets(live_stack):
    stack = live_stack(database="sqlite", DJANGO_DEBUG="1")
    token = stack.create_user("writer@example.com")
    server = stack.start_server(kind="runserver")
    async with httpx.AsyncClient(base_url=server.http_url, timeout=10) as api:
        assert (await api.get("/api/posts/")).status_code == 200
        assert (await api.get("/admin/login/")).status_code == 200
        assert (await api.get("/static/admin/css/base.css")).status_code == 200
        socket = await Socket.open(f"{server.ws_url}/ws/posts")
        await socket.connected()
        await api.post("/api/posts/", json={"title": "hi", "published": True}, headers=auth(token))
        assert (await socket.recv("created"))["data"]["title"] == "hi"
        await socket.close()


@pytest.mark.parametrize("kind", ["daphne", "uvicorn"])
async def test_production_mode_serves_static_files_api_and_sockets(live_stack, kind):
    stack = live_stack(database="sqlite")
    token = stack.create_user("writer@example.com")
    server = stack.start_server(kind=kind)
    async with httpx.AsyncClient(base_url=server.http_url, timeout=10) as api:
        for path, content_type in (
            ("/static/admin/css/base.css", "text/css"),
            ("/static/broadcasting/realtime.js", "javascript"),
        ):
            response = await api.get(path)
            assert response.status_code == 200 and content_type in response.headers["content-type"]
        assert (await api.get("/")).status_code == 200
        socket = await Socket.open(f"{server.ws_url}/ws/posts")
        await socket.connected()
        await api.post("/api/posts/", json={"title": kind, "published": True}, headers=auth(token))
        assert (await socket.recv("created"))["data"]["title"] == kind
        await socket.close()


async def test_shell_writes_and_broadcast_command_reach_a_runserver_on_the_in_memory_layer(live_stack):
    """Another process cannot reach the in-memory layer, but its events are in the database:
    the server's periodic check delivers them within a few seconds."""
    stack = live_stack(database="sqlite", DJANGO_DEBUG="1")
    server = stack.start_server(kind="runserver")
    socket = await Socket.open(f"{server.ws_url}/ws/posts")
    start_seq = (await socket.connected())["seq"]

    stack.shell(
        "from users.models import User; from posts.models import Post\n"
        "author = User.objects.create_user('shell@example.com')\n"
        "Post.objects.create(title='from the shell', author=author, published=True)"
    )
    created = await socket.recv(timeout=8)
    assert created["type"] == "created" and created["data"]["title"] == "from the shell"
    assert created["seq"] == start_seq + 1

    stack.manage("broadcast", "posts", "notice", '{"text": "hello from cron"}')
    notice = await socket.recv(timeout=8)
    assert notice["type"] == "notice" and notice["data"] == {"text": "hello from cron"}
    await socket.close()
