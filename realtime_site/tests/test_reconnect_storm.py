"""
A deploy's reconnect storm: `make serve` with two workers on Redis holds
sockets, a new `make serve` starts on the same port, the old one gets SIGTERM, and
every client comes straight back with ``since`` at once. Every socket is back and
resumed, with every event once and in order, and the writes made meanwhile are
answered. How fast is bench/storm.py's question, not this test's.
"""

import asyncio
import signal
import time

import httpx
import pytest

from testing.storm import open_clients, outcome_of
from testing.wait import wait_until

SOCKETS = 300


def raise_if_a_follower_failed(followers: list[asyncio.Task]) -> None:
    """A client that died on an exception would never come back: say why now, not after 90 s."""
    for follower in followers:
        if follower.done() and not follower.cancelled() and follower.exception() is not None:
            raise follower.exception()  # type: ignore[misc]


@pytest.mark.live_server
@pytest.mark.redis
async def test_every_socket_comes_back_resumed_with_nothing_lost_and_writes_are_answered(live_stack):
    stack = live_stack(
        use_redis=True,
        REALTIME_MAX_SOCKETS_PER_ADDRESS="10000",
        REALTIME_MAX_SOCKETS_PER_USER="10000",
        REALTIME_CONNECTS_PER_ADDRESS_PER_MIN="10000",
    )
    token = stack.create_user("storm@example.com")
    auth = {"Authorization": f"Token {token}"}
    old = stack.start_server("serve", workers=2)
    anonymous, anonymous_sockets = await open_clients([f"{old.ws_url}/ws/posts"] * (SOCKETS // 2), {})
    signed_in, signed_in_sockets = await open_clients([f"{old.ws_url}/ws/posts"] * (SOCKETS // 2), auth)
    clients, sockets = anonymous + signed_in, anonymous_sockets + signed_in_sockets
    stop = asyncio.Event()
    followers = [
        asyncio.create_task(client.follow(socket, stop)) for client, socket in zip(clients, sockets, strict=True)
    ]
    statuses: list[int | str] = []
    writes: list[int] = []

    async with httpx.AsyncClient(base_url=old.http_url, timeout=10) as api:

        async def write() -> None:
            """One post; a connection the stopping server reset is tried again, any answer is kept."""
            number = len(writes)
            writes.append(number)
            for _ in range(20):
                try:
                    response = await api.post(
                        "/api/posts/", json={"title": f"storm {number}", "published": True}, headers=auth
                    )
                except httpx.TransportError as error:
                    statuses.append(type(error).__name__)
                    await asyncio.sleep(0.05)
                    continue
                statuses.append(response.status_code)
                return

        for _ in range(3):
            await write()
        stack.start_server("serve", workers=2, port=old.port)  # the new release, on the same port
        old.process.send_signal(signal.SIGTERM)
        first_close_at = time.monotonic()
        while sum(client.resumed_at is not None for client in clients) < SOCKETS:
            await write()  # writes go on through the storm
            raise_if_a_follower_failed(followers)
            assert time.monotonic() - first_close_at < 90, "sockets did not come back"
            await asyncio.sleep(0.05)
        for _ in range(3):
            await write()
        final_seq = int((await api.get("/api/posts/", params={"page_size": 1})).headers["X-Channel-Seq"])
        await wait_until(lambda: all(client.last_seq >= final_seq for client in clients), timeout=30)

    stop.set()
    for follower in followers:
        follower.cancel()
    outcome = outcome_of(clients, final_seq, first_close_at)
    assert (outcome.resumed, outcome.closed_1012, outcome.other_closes) == (SOCKETS, SOCKETS, [])
    assert (outcome.gaps, outcome.duplicates, outcome.behind) == (0, 0, 0)
    assert old.process.wait(timeout=15) in (0, -signal.SIGTERM)
    answered = [status for status in statuses if isinstance(status, int)]
    assert answered == [201] * len(writes), statuses  # every write answered, none failed
