"""
Client frames are small (REALTIME["MAX_CLIENT_FRAME_BYTES"], MAX_FILTER_PARAMS), against real
servers: a 16 MB frame once froze a `make serve` worker for seconds and kept its memory.
"""

import asyncio
import json
import time
from pathlib import Path

import pytest
import websockets

from testing.sockets import Socket

pytestmark = [pytest.mark.live_server, pytest.mark.security]


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


async def ping_latencies(socket: Socket, stop: asyncio.Event) -> list[float]:
    latencies = []
    while not stop.is_set():
        started = time.perf_counter()
        await socket.send({"type": "ping"})
        await socket.recv("pong")
        latencies.append(time.perf_counter() - started)
        await asyncio.sleep(0.01)
    return latencies


async def close_code_after_sending(socket: Socket, frame: str) -> tuple[int | None, float]:
    """Send ``frame`` and read until the server closes; (close code, seconds from send to close)."""
    started = time.perf_counter()
    try:
        await socket.connection.send(frame)
        while True:
            await socket.connection.recv()
    except websockets.ConnectionClosed as closed:
        return (closed.rcvd.code if closed.rcvd else None), time.perf_counter() - started


async def test_a_16_mb_frame_is_refused_1009_without_stalling_a_make_serve_worker(live_stack):
    server = live_stack().start_server("serve")
    assert server.process is not None
    bystander = await Socket.open(f"{server.ws_url}/ws/posts")
    await bystander.connected()
    hostile = await Socket.open(f"{server.ws_url}/ws/")
    await hostile.connected()
    rss_before = rss_bytes(server.process.pid)

    stop = asyncio.Event()
    pinging = asyncio.create_task(ping_latencies(bystander, stop))
    huge = json.dumps({"type": "subscribe", "channel": "posts", "filter": {f"k{n}": "v" for n in range(1_000_000)}})
    assert len(huge) > 15_000_000
    code, secs = await close_code_after_sending(hostile, huge)
    await asyncio.sleep(0.3)
    stop.set()
    latencies = await pinging

    assert code == 1009
    assert secs < 1.0, secs  # the client's own send of 16 MB included
    assert max(latencies) < 0.1, max(latencies)
    assert rss_bytes(server.process.pid) - rss_before < 20 * 1024 * 1024
    await bystander.close()


@pytest.mark.parametrize("kind", ["daphne", "runserver", "serve"])
async def test_a_frame_over_the_limit_closes_1009_and_one_under_it_is_answered(live_stack, kind):
    server = live_stack(REALTIME_MAX_CLIENT_FRAME_BYTES="4096").start_server(kind)
    socket = await Socket.open(f"{server.ws_url}/ws/posts")
    await socket.connected()
    await socket.send(json.dumps({"type": "ping", "pad": "x" * 4000}))
    await socket.recv("pong")
    code, _ = await close_code_after_sending(socket, json.dumps({"type": "ping", "pad": "é" * 2100}))
    # 4,200 bytes in UTF-8, though 2,100 characters. Daphne (autobahn) lets no application
    # close with 1009: there the consumer's refusal closes 1000.
    assert code == (1009 if kind == "serve" else 1000)


@pytest.mark.parametrize("kind", ["daphne", "runserver"])
async def test_daphne_drops_a_frame_over_its_own_limit_before_the_application(live_stack, kind):
    server = live_stack().start_server(kind)
    socket = await Socket.open(f"{server.ws_url}/ws/posts")
    await socket.connected()
    code, _ = await close_code_after_sending(socket, "x" * 300_000)  # over MAX_FRAME_BYTES, daphne's limit
    assert code is None  # dropped without a close frame: the client sees 1006


async def test_too_many_or_too_long_filter_parameters_are_refused_before_parsing(live_stack):
    server = live_stack().start_server("serve")
    many = "&".join(f"k{n}=v" for n in range(1000))
    socket = await Socket.open(f"{server.ws_url}/ws/posts?{many}")
    error = await socket.recv("error")
    assert (error["code"], await socket.closed_with()) == ("invalid_filter", 4400)
    socket = await Socket.open(f"{server.ws_url}/ws/posts?author={'1' * 2000}")
    error = await socket.recv("error")
    assert "at most 1024" in error["message"] and await socket.closed_with() == 4400

    multiplexed = await Socket.open(f"{server.ws_url}/ws/")
    await multiplexed.connected()
    await multiplexed.send({"type": "subscribe", "channel": "posts", "filter": {"author": "1" * 2000}})
    error = await multiplexed.recv("error")
    assert (error["code"], error["channel"]) == ("invalid_filter", "posts")
    await multiplexed.send({"type": "subscribe", "channel": "posts", "filter": {"published": True}})
    await multiplexed.recv("subscribed")
    await multiplexed.close()
