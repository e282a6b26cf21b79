"""
Presence across two real server processes sharing Redis, spoken to by real WebSocket
clients: users once whatever process and tab, anonymous counted, join before leave,
no leave or join for a reconnect to the other process, and a killed process's users
leave within its TTL.
"""

import asyncio
import json
import signal
import time

import httpx
import pytest

from testing.frames import next_of, presence_of
from testing.sockets import Socket
from testing.wait import wait_until

pytestmark = [pytest.mark.live_server, pytest.mark.redis]

LINGER_SECS = 1.5
TTL_SECS = 3.0


@pytest.fixture
def two_processes(live_stack):
    stack = live_stack(
        use_redis=True,
        REALTIME_PRESENCE_LINGER_SECS=str(LINGER_SECS),
        REALTIME_PRESENCE_TTL_SECS=str(TTL_SECS),
        REALTIME_PRESENCE_REFRESH_SECS="1",
    )
    tokens = {
        "staff": stack.create_user("staff@example.com", staff=True),
        "alice": stack.create_user("alice@example.com"),
        "bob": stack.create_user("bob@example.com"),
    }
    return stack, tokens, stack.start_server(), stack.start_server()


async def open_on(server, token: str | None = None) -> Socket:
    socket = await Socket.open(f"{server.ws_url}/ws/posts", token=token)
    await socket.connected()
    return socket


async def everyone_counted(socket: Socket, *, users: int, anonymous: int) -> bool:
    """Whether ``socket``'s presence answer counts these users and anonymous sockets, across processes."""
    state = await presence_of(socket)
    return (state["user_count"], state["anonymous"]) == (users, anonymous)


async def test_users_on_both_processes_are_listed_once_with_emails_per_asker(two_processes):
    _, tokens, server_a, server_b = two_processes
    sockets = {
        "alice_a1": await open_on(server_a, tokens["alice"]),
        "alice_a2": await open_on(server_a, tokens["alice"]),
        "alice_b": await open_on(server_b, tokens["alice"]),
        "bob_b": await open_on(server_b, tokens["bob"]),
        "staff_a": await open_on(server_a, tokens["staff"]),
        "anonymous_a": await open_on(server_a),
        "anonymous_b": await open_on(server_b),
    }
    await wait_until(lambda: everyone_counted(sockets["staff_a"], users=3, anonymous=2))
    as_staff = await presence_of(sockets["staff_a"])
    as_bob = await presence_of(sockets["bob_b"])
    as_anonymous = await presence_of(sockets["anonymous_b"])
    assert sorted(user["email"] for user in as_staff["users"]) == [
        "alice@example.com",
        "bob@example.com",
        "staff@example.com",
    ]
    assert (as_staff["user_count"], as_staff["anonymous"]) == (3, 2)
    by_name = {user["name"]: user for user in as_bob["users"]}
    assert sorted(by_name) == ["alice", "bob", "staff"]
    assert "email" not in by_name["alice"] and by_name["bob"]["email"] == "bob@example.com"
    assert all(set(user) == {"id"} for user in as_anonymous["users"]) and len(as_anonymous["users"]) == 3
    for socket in sockets.values():
        await socket.close()


async def test_join_then_leave_reach_the_other_process_and_a_quick_reconnect_elsewhere_sends_neither(
    two_processes,
):
    _, tokens, server_a, server_b = two_processes
    watcher = await open_on(server_a)
    assert (await presence_of(watcher))["users"] == []
    alice = await open_on(server_b, tokens["alice"])
    join = await next_of(watcher, "join")
    alice_id = join["data"]["user"]["id"]
    assert join["data"]["user"] == {"id": alice_id}  # an anonymous watcher: ids only

    await alice.close()  # a deploy: she reconnects to the other process at once
    alice = await open_on(server_a, tokens["alice"])
    await asyncio.sleep(LINGER_SECS + 1.5)
    await watcher.assert_silent(0.2)
    assert [user["id"] for user in (await presence_of(watcher))["users"]] == [alice_id]

    await alice.close()
    closed_at = time.monotonic()
    leave = await next_of(watcher, "leave", timeout=LINGER_SECS + 5)
    assert leave["data"]["user"] == {"id": alice_id}
    assert time.monotonic() - closed_at >= LINGER_SECS * 0.9
    assert (await presence_of(watcher))["users"] == []
    await watcher.close()


async def test_the_users_of_a_killed_process_leave_within_its_ttl(two_processes):
    _, tokens, server_a, server_b = two_processes
    watcher = await open_on(server_a, tokens["staff"])
    await presence_of(watcher)
    joined: list[str] = []

    async def joins_until(email: str) -> None:
        while email not in joined:
            joined.append((await next_of(watcher, "join"))["data"]["user"]["email"])

    # Each join heard before the next user opens: two processes announce in no set order.
    alice_on_b = await open_on(server_b, tokens["alice"])
    await joins_until("alice@example.com")
    bob_on_both = [await open_on(server_a, tokens["bob"]), await open_on(server_b, tokens["bob"])]
    await joins_until("bob@example.com")
    # The watcher's own join may come after its answer (it changes nothing there).
    assert [email for email in joined if email != "staff@example.com"] == ["alice@example.com", "bob@example.com"]

    server_b.process.send_signal(signal.SIGKILL)
    server_b.process.wait(timeout=10)
    killed_at = time.monotonic()
    leave = await next_of(watcher, "leave", timeout=TTL_SECS + 5)
    waited = time.monotonic() - killed_at
    assert waited <= TTL_SECS + 2.5, waited  # the TTL, and a refresh interval for someone to sweep
    state = await presence_of(watcher)
    assert [user["email"] for user in state["users"]] == ["staff@example.com", "bob@example.com"]
    assert leave["data"]["user"]["id"] not in [user["id"] for user in state["users"]]  # it was alice's
    await watcher.assert_silent(1.0)  # bob still has a socket on A: no leave for him
    await watcher.close()
    await bob_on_both[0].close()
    assert await alice_on_b.closed_with() == 1006  # her process died under her


async def test_a_frozen_redis_leaves_presence_answering_and_the_next_refresh_repairs_it(live_stack, own_redis):
    redis_server = own_redis()
    stack = live_stack(redis_url=redis_server.url, REALTIME_PRESENCE_REFRESH_SECS="1")
    token = stack.create_user("alice@example.com")
    server_a, server_b = stack.start_server(), stack.start_server()
    watcher = await open_on(server_a)
    assert (await presence_of(watcher))["users"] == []
    # B already serves the channel (a channel's first socket in a process joins its group on Redis).
    bystander = await open_on(server_b)
    loop = asyncio.get_running_loop()

    redis_server.freeze()
    try:
        alice = await open_on(server_b, token)  # her hold cannot reach Redis
        asked_at = loop.time()
        await watcher.send({"type": "get_presence"})
        answer = await next_of(watcher, "presence", timeout=5)
        assert loop.time() - asked_at < 4.0  # from this process alone, within STATE_WAIT_SECS
        assert answer["data"]["users"] == []
        await watcher.send({"type": "ping"})
        await next_of(watcher, "pong", timeout=1.5)
    finally:
        redis_server.thaw()
    # Back: B's next refresh holds her again, which makes her join.
    join = await next_of(watcher, "join", timeout=20)
    assert "email" not in join["data"]["user"]
    assert [user["id"] for user in (await presence_of(watcher))["users"]] == [join["data"]["user"]["id"]]
    await alice.close()
    await bystander.close()
    await watcher.close()


async def test_on_make_serve_with_two_workers_each_user_is_listed_once(live_stack):
    stack = live_stack(use_redis=True)
    tokens = [stack.create_user(f"user{n}@example.com") for n in range(3)]
    server = stack.start_server(kind="serve", workers=2)
    sockets = [await open_on(server, token) for token in tokens for _ in range(3)]  # 3 tabs each
    sockets += [await open_on(server), await open_on(server)]
    await wait_until(lambda: everyone_counted(sockets[0], users=3, anonymous=2))
    await wait_until(lambda: httpx.get(f"{server.http_url}/ws/stats").json()["total_connections"] == len(sockets))
    # SO_REUSEPORT spreads the 11 sockets over both workers (all on one: 1 run in 1,000).
    per_worker = json.loads(stack.manage("realtime_stats", "--json"))["sockets_per_process"]
    assert sorted(counts["posts"] > 0 for counts in per_worker.values()) == [True, True], per_worker
    as_user0, as_anonymous = await presence_of(sockets[0]), await presence_of(sockets[-1])
    for state in (as_user0, as_anonymous):
        assert (state["user_count"], state["anonymous"]) == (3, 2)
    assert [user["name"] for user in as_user0["users"]] == ["user0", "user1", "user2"]
    assert [set(user) for user in as_anonymous["users"]] == [{"id"}] * 3
    for socket in sockets:
        await socket.close()
