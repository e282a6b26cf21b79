"""
REST requests go before the fan-out, which never stops (runtime/request_priority.py), on real
servers: a client flooding the API while writes fan out to more sockets than one chunk
neither halts nor loses a delivery, and every one of its requests is answered. (That
the fan-out's wait is bounded even under requests that never end is pinned in
test_request_priority.py; here the flood has gaps.)
"""

import asyncio

import httpx
import pytest

from broadcasting.delivery.fanout import FANOUT_CHUNK_SOCKETS
from testing.sockets import Socket

pytestmark = pytest.mark.live_server

SOCKETS = 2 * FANOUT_CHUNK_SOCKETS + 100  # three chunks: two places where the fan-out gives requests way
WRITES = 10
FLOODERS = 8


async def read_seqs(socket: Socket, upto_seq: int) -> list[int]:
    seqs: list[int] = []
    while not seqs or seqs[-1] < upto_seq:
        frame = await socket.recv(timeout=60)
        if frame["type"] == "created":
            seqs.append(frame["seq"])
    return seqs


@pytest.mark.parametrize("server_kind", ["daphne", "serve"])
async def test_a_flood_of_requests_neither_halts_nor_loses_a_delivery(live_stack, server_kind):
    stack = live_stack(
        REALTIME_MAX_SOCKETS_PER_ADDRESS=str(SOCKETS + 10),
        REALTIME_CONNECTS_PER_ADDRESS_PER_MIN=str(SOCKETS + 10),
        API_THROTTLE_USER="1000000/minute",
    )
    token = stack.create_user("writer@example.com", staff=True)
    server = stack.start_server(server_kind)
    sockets = [await Socket.open(f"{server.ws_url}/ws/posts") for _ in range(SOCKETS)]
    start_seqs = {(await socket.connected())["seq"] for socket in sockets}
    assert len(start_seqs) == 1
    start_seq = start_seqs.pop()
    readers = [asyncio.create_task(read_seqs(socket, start_seq + WRITES)) for socket in sockets]
    headers = {"Authorization": f"Token {token}"}
    flood_statuses: list[int] = []
    answered_during_deliveries = 0
    writes_done = asyncio.Event()

    def delivering() -> bool:
        return not writes_done.is_set() or not all(reader.done() for reader in readers)

    async def flood(api: httpx.AsyncClient) -> None:
        nonlocal answered_during_deliveries
        while delivering():
            flood_statuses.append((await api.get("/api/posts/?page_size=5", headers=headers)).status_code)
            answered_during_deliveries += delivering()

    async with httpx.AsyncClient(base_url=server.http_url, timeout=60) as api:
        flooding = [asyncio.create_task(flood(api)) for _ in range(FLOODERS)]
        for number in range(WRITES):
            response = await api.post(
                "/api/posts/", json={"title": f"post {number}", "published": True}, headers=headers
            )
            assert response.status_code == 201
        writes_done.set()
        received = await asyncio.wait_for(asyncio.gather(*readers), 120)
        await asyncio.gather(*flooding)

    expected = list(range(start_seq + 1, start_seq + WRITES + 1))
    assert all(seqs == expected for seqs in received), [seqs for seqs in received if seqs != expected][:3]
    assert answered_during_deliveries >= FLOODERS  # the flood ran along the fan-out, and was answered
    assert set(flood_statuses) == {200}
    for socket in sockets:
        await socket.close()
