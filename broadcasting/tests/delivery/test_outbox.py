"""The per-socket outbox: order, limits, stuck sends, failures, and nothing after a close."""

import asyncio
import functools
import json

from broadcasting.delivery.outbox import Outbox
from broadcasting.runtime.daphne_adapter import server_backlog_probe
from broadcasting.wire.protocol import CloseCode


class FakeServer:
    """An ASGI server's send: records messages; can be made to hang or fail."""

    def __init__(self) -> None:
        self.messages: list[dict] = []
        self.hang = False
        self.fail = False
        self.released = asyncio.Event()

    async def send(self, message: dict) -> None:
        if self.fail and message["type"] == "websocket.send":
            raise OSError("connection reset")
        if self.hang and message["type"] == "websocket.send":
            await self.released.wait()
        self.messages.append(message)

    def texts(self) -> list[str]:
        return [message["text"] for message in self.messages if message["type"] == "websocket.send"]

    def closes(self) -> list[int]:
        return [message["code"] for message in self.messages if message["type"] == "websocket.close"]


def make_outbox(server: FakeServer, closes: list[int], **limits) -> Outbox:
    outbox = Outbox(
        server.send,
        channel_label="posts",
        max_bytes=limits.get("max_bytes", 1000),
        send_timeout_secs=limits.get("send_timeout_secs", 5.0),
        on_close=closes.append,
    )
    return outbox


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_frames_go_out_at_once_while_the_server_takes_them():
    server, closes = FakeServer(), []
    outbox = make_outbox(server, closes)
    for number in range(5):
        assert outbox.push(f'{{"n":{number}}}')
    assert server.texts() == [f'{{"n":{number}}}' for number in range(5)]  # no task, no wait
    assert outbox.queued_bytes == 0 and closes == []


async def test_frames_wait_in_order_behind_a_send_the_server_holds_up():
    server, closes = FakeServer(), []
    outbox = make_outbox(server, closes)
    server.hang = True
    for number in range(4):
        assert outbox.push(f'{{"n":{number}}}')
    assert server.texts() == [] and outbox.queued_bytes == 3 * len('{"n":0}')
    server.hang = False
    server.released.set()
    await settle()
    assert server.texts() == [f'{{"n":{number}}}' for number in range(4)]
    assert outbox.push('{"n":4}') and server.texts()[-1] == '{"n":4}'  # back to sending at once


async def test_past_the_byte_limit_behind_a_held_send_the_socket_is_closed_4408():
    server, closes = FakeServer(), []
    outbox = make_outbox(server, closes, max_bytes=100)
    server.hang = True
    assert outbox.push("x" * 60)  # held up by the server
    assert outbox.push("y" * 60)
    assert outbox.push("z" * 60) is False  # 120 queued > 100
    assert closes == [CloseCode.SLOW_CONSUMER]
    assert outbox.push("later") is False
    await settle()
    assert server.texts() == []  # the backlog was dropped, the held frame given up
    assert server.closes() == [CloseCode.SLOW_CONSUMER]


async def test_a_send_stuck_past_the_timeout_is_stalled_and_closed_without_waiting_for_it():
    server, closes = FakeServer(), []
    outbox = make_outbox(server, closes, send_timeout_secs=5.0)
    server.hang = True
    outbox.push('{"n":1}')
    await settle()
    now = asyncio.get_running_loop().time()
    assert not outbox.stalled(now + 1)
    assert outbox.stalled(now + 6)
    outbox.close_slow("stuck")
    await settle()
    assert closes == [CloseCode.SLOW_CONSUMER]
    assert server.closes() == [CloseCode.SLOW_CONSUMER]  # sent although the stuck frame never was
    assert server.texts() == []


async def test_a_failing_send_closes_that_socket_with_1011():
    server, closes = FakeServer(), []
    outbox = make_outbox(server, closes)
    server.fail = True
    outbox.push('{"n":1}')
    await settle()
    assert closes == [CloseCode.SEND_FAILED]
    assert server.closes() == [CloseCode.SEND_FAILED]
    assert not outbox.open and outbox.push('{"n":2}') is False


async def test_close_sends_what_is_queued_then_the_error_then_closes_and_nothing_after():
    server, closes = FakeServer(), []
    outbox = make_outbox(server, closes)
    outbox.push('{"n":1}')
    outbox.close(4401, {"type": "error", "code": "auth_failed", "message": "gone"})
    outbox.push('{"n":2}')
    await settle()
    texts = server.texts()
    assert texts[0] == '{"n":1}' and json.loads(texts[1])["code"] == "auth_failed" and len(texts) == 2
    assert server.closes() == [4401] and closes == [4401]
    assert server.messages[-1]["type"] == "websocket.close"


async def test_discard_stops_the_writer_and_drops_the_backlog():
    server, closes = FakeServer(), []
    outbox = make_outbox(server, closes)
    server.hang = True
    outbox.push('{"n":1}')
    outbox.push('{"n":2}')
    await settle()
    outbox.discard()
    server.released.set()
    await settle()
    assert server.texts() == [] and outbox.queued_bytes == 0 and not outbox.open


async def test_a_replay_waiting_for_room_gives_up_as_slow_after_the_send_timeout():
    server, closes = FakeServer(), []
    outbox = make_outbox(server, closes, max_bytes=100, send_timeout_secs=0.1)
    server.hang = True
    outbox.push("x" * 10)
    await settle()
    outbox.push("y" * 80)  # over half the limit: no room for a replay page
    await asyncio.wait_for(outbox.wait_for_room(), timeout=2)
    assert closes == [CloseCode.SLOW_CONSUMER]


class FakeTwistedTransport:
    def __init__(self) -> None:
        self.dataBuffer = b"a" * 300
        self._tempDataLen = 200


class FakeDaphneProtocol:
    def __init__(self) -> None:
        self.transport = FakeTwistedTransport()


async def test_daphne_buffer_counts_towards_the_limit_and_the_socket_is_told_why():
    sent: list[dict] = []

    async def handle_reply(protocol, message) -> None:
        sent.append(message)

    send = functools.partial(handle_reply, FakeDaphneProtocol())
    assert server_backlog_probe(send)() == 500
    closes: list[int] = []
    outbox = Outbox(send, channel_label="posts", max_bytes=600, send_timeout_secs=5.0, on_close=closes.append)
    assert outbox.push("x" * 50)
    assert outbox.push("y" * 200) is False  # 500 held by daphne + 200 > 600
    assert closes == [CloseCode.SLOW_CONSUMER]
    await settle()
    assert [message["type"] for message in sent] == ["websocket.send", "websocket.send", "websocket.close"]
    assert json.loads(sent[1]["text"])["code"] == "slow_consumer" and sent[2]["code"] == CloseCode.SLOW_CONSUMER


def test_servers_that_push_back_need_no_probe():
    async def send(message: dict) -> None:
        return None

    assert server_backlog_probe(send) is None


def test_an_outbox_smaller_than_two_frames_is_a_configuration_error(settings):
    from broadcasting.checks import check_outbox_holds_two_frames

    settings.REALTIME = {"MAX_FRAME_BYTES": 300_000, "OUTBOX_MAX_BYTES": 400_000}
    assert [error.id for error in check_outbox_holds_two_frames()] == ["broadcasting.E002"]
    settings.REALTIME = {}
    assert check_outbox_holds_two_frames() == []
