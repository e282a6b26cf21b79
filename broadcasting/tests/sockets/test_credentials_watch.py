"""
Every open socket follows its credentials and rights, subscribed or not (sockets/credentials_watch.py),
against a real server: each case failed before the watch covered idle /ws/ sockets.
"""

import asyncio

import httpx
import pytest

from testing.frames import next_of
from testing.sockets import Socket
from testing.wait import wait_until

pytestmark = [pytest.mark.live_server, pytest.mark.security]

CHECK_SECS = "0.5"


async def closed_4401_within(socket: Socket, secs: float, allowed_before: tuple[str, ...] = ()) -> dict:
    """
    The auth_failed error frame of a socket the server closes 4401 within ``secs``; no
    frame before it but of the ``allowed_before`` types.
    """
    frames, code = await socket.frames_until_closed(secs)
    assert code == 4401, (code, frames)
    assert [frame["type"] for frame in frames if frame["type"] not in allowed_before] == ["error"], frames
    assert frames[-1]["code"] == "auth_failed"
    return frames[-1]


async def staff_socket(stack, path: str) -> Socket:
    """A socket at ``path``, connected, of staff@example.com (a staff user), on a server started on ``stack``."""
    token = stack.create_user("staff@example.com", staff=True)
    server = stack.start_server()
    socket = await Socket.open(f"{server.ws_url}{path}", token=token)
    await socket.connected()
    return socket


async def set_account(stack, email: str, **fields: bool) -> None:
    """
    Change an account from a shell, as an admin's edit elsewhere would. In a thread, so
    this client keeps reading meanwhile: daphne resets a socket whose client does not
    answer its close within a second, and the reset discards the frames before it.
    """
    code = f"from users.models import User; User.objects.filter(email={email!r}).update(**{fields!r})"
    await asyncio.to_thread(stack.shell, code)


@pytest.fixture
def stack(live_stack):
    return live_stack(REALTIME_SEQ_CHECK_INTERVAL_SECS=CHECK_SECS)


async def test_an_idle_multiplexed_socket_closes_4401_once_its_user_is_deactivated(stack):
    socket = await staff_socket(stack, "/ws/")
    await socket.send({"type": "ping"})
    await socket.recv("pong")

    await set_account(stack, "staff@example.com", is_active=False)

    error = await closed_4401_within(socket, 3 * float(CHECK_SECS) + 2)
    assert error["message"] == "This account is no longer active."


async def test_a_subscribe_after_deactivation_replays_nothing(live_stack):
    """Deactivated between two checks: the subscribe itself finds out, before any replay."""
    stack = live_stack(REALTIME_SEQ_CHECK_INTERVAL_SECS="30")  # only the subscribe's own check can know
    stack.create_user("other@example.com")
    socket = await staff_socket(stack, "/ws/")
    await set_account(stack, "staff@example.com", is_active=False)

    await socket.send({"type": "subscribe", "channel": "users", "since": 0})

    await closed_4401_within(socket, 2)


async def test_a_demoted_staff_users_new_subscription_is_rendered_for_a_non_staff_user(live_stack):
    """With a long check interval, only the subscribe's own recheck can know of the demotion."""
    stack = live_stack(REALTIME_SEQ_CHECK_INTERVAL_SECS="30")
    token = stack.create_user("staff@example.com", staff=True)
    other_token = stack.create_user("other@example.com")
    server = stack.start_server()
    socket = await Socket.open(f"{server.ws_url}/ws/", token=token)
    await socket.connected()
    await set_account(stack, "staff@example.com", is_staff=False)

    await socket.send({"type": "subscribe", "channel": "users"})
    await socket.recv("subscribed")
    async with httpx.AsyncClient(base_url=server.http_url, headers={"Authorization": f"Token {other_token}"}) as api:
        other_id = (await api.get("/api/users/", params={"search": "other"})).json()["results"][0]["id"]
        assert (await api.patch(f"/api/users/{other_id}/", json={"name": "O"})).status_code == 200

    updated = await socket.recv("updated")
    assert updated["data"]["name"] == "O" and "email" not in updated["data"]


async def test_a_demotion_reaches_an_open_subscription_within_the_check_interval(stack):
    stack.create_user("other@example.com")
    socket = await staff_socket(stack, "/ws/users")
    await set_account(stack, "staff@example.com", is_staff=False)

    async def renders_publicly() -> bool:
        await asyncio.to_thread(
            stack.shell,
            "import uuid; from users.models import User\n"
            "u = User.objects.get(email='other@example.com'); u.name = uuid.uuid4().hex; u.save()",
        )
        frame = await socket.recv()
        while frame["type"] == "sync":
            frame = await socket.recv()
        return "email" not in frame["data"]

    await wait_until(renders_publicly, timeout=10, message="the demoted user still gets staff renderings")


async def test_a_staff_only_filter_closes_its_socket_4401_after_a_demotion(stack):
    socket = await staff_socket(stack, "/ws/users?is_staff=true")

    await set_account(stack, "staff@example.com", is_staff=False)

    # The demotion itself may arrive first: the user's own record leaving the staff set.
    error = await closed_4401_within(socket, 3 * float(CHECK_SECS) + 2, allowed_before=("deleted", "sync"))
    assert "filter is no longer allowed" in error["message"]


async def test_a_staff_only_filter_ends_its_multiplexed_subscription_after_a_demotion(stack):
    stack.create_user("other@example.com")
    socket = await staff_socket(stack, "/ws/")
    await socket.send({"type": "subscribe", "channel": "users", "filter": {"is_staff": True}})
    await socket.recv("subscribed")
    await socket.send({"type": "subscribe", "channel": "posts"})
    await socket.recv("subscribed")

    await set_account(stack, "staff@example.com", is_staff=False)

    # The demotion itself may arrive first: the user's own record leaving the staff set.
    error = await next_of(socket, "error", passing=frozenset({"deleted", "sync"}), timeout=3 * float(CHECK_SECS) + 2)
    assert (error["code"], error["channel"]) == ("auth_failed", "users")
    await set_account(stack, "other@example.com", is_staff=True)
    await asyncio.to_thread(
        stack.shell,
        "from users.models import User; u = User.objects.get(email='other@example.com'); u.is_staff = False; u.save()",
    )
    await socket.send({"type": "ping"})
    assert (await socket.recv())["type"] == "pong"  # nothing more of users; posts and the socket live on
    await socket.assert_silent(1.0)
