"""
The WebSocket protocol `make serve` gives uvicorn (broadcasting/runtime/uvicorn_adapter.py): its
small queue and flag behave as the asyncio ones uvicorn relies on, the frames it
sends itself are byte for byte websockets' own, and on a real uvicorn server on a port
it holds less per socket while echoing frames of every length class, pausing for a
client that does not read and resuming when it does, leaving compressed sockets and
closing ones to uvicorn.
"""

import asyncio
import contextlib

import pytest
import uvicorn
import websockets
from websockets.frames import Frame, Opcode

from broadcasting.runtime.uvicorn_adapter import LeanWebSocketProtocol, ReceiveQueue, WritableFlag, text_frame
from realtime_site.serve import uvicorn_config
from testing.live_server import free_port
from testing.wait import wait_until

SIZES = (0, 1, 125, 126, 65535, 65536, 300_000)


async def test_the_queue_hands_items_over_in_order_and_wakes_a_waiting_receiver():
    queue = ReceiveQueue()
    queue.put_nowait(1)
    queue.put_nowait(2)
    assert (queue.qsize(), await queue.get(), await queue.get(), queue.empty()) == (2, 1, 2, True)
    waiting = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    queue.put_nowait(3)
    assert await asyncio.wait_for(waiting, 1) == 3


async def test_a_receiver_cancelled_while_waiting_takes_nothing():
    queue = ReceiveQueue()
    waiting = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    queue.put_nowait("kept")
    assert await asyncio.wait_for(queue.get(), 1) == "kept"


async def test_two_receivers_at_once_are_refused_rather_than_one_left_waiting_forever():
    queue = ReceiveQueue()
    first = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="Two receivers"):
        await queue.get()
    queue.put_nowait("x")
    assert await asyncio.wait_for(first, 1) == "x"


async def test_the_flag_lets_writers_through_only_while_set():
    flag = WritableFlag()
    flag.set()
    assert await flag.wait() is True
    flag.clear()
    writers = [asyncio.create_task(flag.wait()) for _ in range(3)]
    cancelled = asyncio.create_task(flag.wait())
    await asyncio.sleep(0.01)
    assert not any(writer.done() for writer in writers)
    cancelled.cancel()
    await asyncio.sleep(0)
    flag.set()
    assert await asyncio.wait_for(asyncio.gather(*writers), 1) == [True, True, True]
    assert flag.is_set() and cancelled.cancelled()


@pytest.mark.parametrize("size", SIZES)
def test_its_frames_are_websockets_own_byte_for_byte(size):
    text = ("é" + "x" * size)[:size] if size else ""
    expected = Frame(Opcode.TEXT, text.encode()).serialize(mask=False, extensions=[])
    assert text_frame(text) == expected
    assert text_frame(text) is text_frame(text)  # encoded once for every socket


async def echo_app(scope, receive, send):
    """Echoes each text frame; "flood" sends 200 frames of 64 KiB (a client that does not read stalls it)."""
    assert scope["type"] == "websocket"
    await receive()
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        if message["text"] == "sizes":
            for size in SIZES:
                await send({"type": "websocket.send", "text": "é" * size})
        elif message["text"] == "flood":
            for number in range(200):
                await send({"type": "websocket.send", "text": f"{number:04d}" + "x" * 65536})
        else:
            await send({"type": "websocket.send", "text": message["text"]})


@contextlib.asynccontextmanager
async def serving(app, **settings):
    """A real uvicorn server on a free port with make serve's settings (or these) and `app` as its application."""
    config = uvicorn_config("127.0.0.1", free_port(), loop="asyncio")
    config.app = app
    for name, value in settings.items():
        setattr(config, name, value)
    config.log_level = "warning"
    server = uvicorn.Server(config)
    running = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield server, f"ws://127.0.0.1:{config.port}"
    finally:
        server.should_exit = True
        await running


async def test_make_serve_uses_it_and_a_socket_keeps_no_handshake_after_the_accept():
    async with serving(echo_app) as (server, url):
        async with websockets.connect(url, additional_headers={"X-Big": "y" * 4000}) as client:
            await client.send("hello")
            assert await client.recv() == "hello"
            (protocol,) = server.server_state.connections
            assert isinstance(protocol, LeanWebSocketProtocol)
            assert (protocol.request, protocol.response) == (None, None)
            assert isinstance(protocol.queue, ReceiveQueue) and isinstance(protocol.writable, WritableFlag)
            # The application's scope keeps its own copy of the headers.
            assert (b"x-big", b"y" * 4000) in protocol.scope["headers"]


async def test_a_client_that_stops_reading_pauses_the_send_until_it_reads_again():
    async with serving(echo_app) as (server, url):
        async with websockets.connect(url, max_queue=1, max_size=None) as client:
            await client.send("flood")
            (protocol,) = server.server_state.connections
            # The transport pushes back: the app's send waits.
            await wait_until(
                lambda: not protocol.writable.is_set(), timeout=5, message="the transport never pushed back"
            )
            received = [await asyncio.wait_for(client.recv(), 5) for _ in range(200)]
            assert [frame[:4] for frame in received] == [f"{number:04d}" for number in range(200)]
            await client.send("still here")
            assert await asyncio.wait_for(client.recv(), 5) == "still here"


@pytest.mark.parametrize("deflate", [False, True], ids=["as make serve runs it", "per-message deflate on"])
async def test_frames_of_every_length_arrive_whole_and_compressed_ones_are_left_to_websockets(deflate):
    async with serving(echo_app, ws_per_message_deflate=deflate) as (server, url):
        async with websockets.connect(url, max_size=None) as client:
            await client.send("sizes")
            assert [len(await asyncio.wait_for(client.recv(), 5)) for _ in SIZES] == list(SIZES)
            (protocol,) = server.server_state.connections
            assert bool(protocol.conn.extensions) is deflate


async def test_a_send_after_the_client_closed_is_refused_as_uvicorn_refuses_it():
    outcome: list[str] = []

    async def app(scope, receive, send):
        await receive()
        await send({"type": "websocket.accept"})
        assert (await receive())["type"] == "websocket.disconnect"
        try:
            await send({"type": "websocket.send", "text": "too late"})
            outcome.append("sent")
        except Exception as error:
            outcome.append(type(error).__name__)

    async with serving(app) as (_, url):
        async with websockets.connect(url) as client:
            await client.close()
        for _ in range(100):
            if outcome:
                break
            await asyncio.sleep(0.02)
    assert outcome == ["ClientDisconnected"]
