"""EventSender (layer/sender.py) with send functions of the test's own: rounds, order, circuit, queue bound, warm-up."""

import asyncio
import logging
import threading

import redis
from django.test import override_settings

from broadcasting import metrics
from broadcasting.layer import groups
from broadcasting.layer.sender import ROUND_EVENTS, EventSender
from broadcasting.wire.events import LiveEvent
from testing.redis_server import redis_channel_layers


def event(seq: int, channel: str = "posts") -> LiveEvent:
    return LiveEvent(channel, seq, {"public": "{}"})


def failures(channel: str = "posts") -> float:
    return metrics.publish_failures.labels(channel)._value.get()


def test_events_go_out_in_order_in_rounds_without_the_submitter_waiting():
    rounds: list[list[int]] = []

    async def slow_round(events):
        await asyncio.sleep(0.05)
        rounds.append([item.seq for item in events])

    sender = EventSender(slow_round)
    for seq in range(1, 1201):
        sender.submit(event(seq))  # returns at once: the sends take 50 ms a round
    assert sender.drain(timeout_secs=10)
    assert [seq for round_seqs in rounds for seq in round_seqs] == list(range(1, 1201))
    assert max(len(round_seqs) for round_seqs in rounds) <= ROUND_EVENTS


@override_settings(REALTIME={"PUBLISH_TIMEOUT_SECS": 0.1, "PUBLISH_RETRY_SECS": 30})
def test_a_layer_that_hangs_opens_the_circuit_and_what_follows_is_dropped_at_once():
    calls = []

    async def hanging_round(events):
        calls.append(len(events))
        await asyncio.sleep(60)

    sender = EventSender(hanging_round)
    before = failures()
    sender.submit(event(1))
    assert sender.drain(timeout_secs=5)
    for seq in range(2, 12):
        sender.submit(event(seq))
    assert sender.drain(timeout_secs=1)  # no waiting on the layer while the circuit is open
    assert calls == [1]
    assert failures() - before == 11  # counted; sockets get them from the history


@override_settings(REALTIME={"SENDER_QUEUE_EVENTS": 5})
def test_past_its_bound_the_queue_drops_the_oldest():
    sent: list[int] = []

    async def record_round(events):
        sent.extend(item.seq for item in events)

    sender = EventSender(record_round)
    sender._queue.extend(event(seq) for seq in range(1, 9))  # a backlog the thread has not started on
    before = failures()
    sender.submit(event(9))
    assert sender.drain(timeout_secs=5)
    assert failures() - before == 4
    assert sent == [5, 6, 7, 8, 9]


def test_warm_up_connects_in_the_sender_thread_before_any_event():
    steps: list = []

    async def connect():
        steps.append(("connect", threading.current_thread().name))

    async def record_round(events):
        steps.append([item.seq for item in events])

    sender = EventSender(record_round, connect=connect)
    sender.warm_up()
    assert sender.drain(timeout_secs=5)  # drain waits for the connection too
    assert steps == [("connect", "realtime-event-sender")]
    sender.submit(event(1))
    assert sender.drain(timeout_secs=5)
    assert steps == [("connect", "realtime-event-sender"), [1]]  # connected once, not again per event


def test_without_a_warm_up_the_first_event_connects_first():
    steps: list = []

    async def connect():
        steps.append("connect")

    async def record_round(events):
        steps.append([item.seq for item in events])

    sender = EventSender(record_round, connect=connect)
    sender.submit(event(1))
    assert sender.drain(timeout_secs=5)
    assert steps == ["connect", [1]]


@override_settings(REALTIME={"PUBLISH_TIMEOUT_SECS": 0.2, "PUBLISH_RETRY_SECS": 30})
def test_a_layer_that_cannot_be_reached_at_warm_up_changes_nothing_else(caplog):
    """The warm-up is a head start only: its failure opens no circuit; the first round finds the layer as it is."""
    sent: list[int] = []

    async def refused():
        raise ConnectionRefusedError("no layer yet")

    async def record_round(events):
        sent.extend(item.seq for item in events)

    sender = EventSender(record_round, connect=refused)
    with caplog.at_level(logging.INFO, "broadcasting"):
        sender.warm_up()
        assert sender.drain(timeout_secs=5)
    assert "could not connect to the layer yet (ConnectionRefusedError: no layer yet)" in caplog.text
    assert sender.circuit.closed()
    sender.submit(event(1))
    assert sender.drain(timeout_secs=5)
    assert sent == [1]


def test_the_layer_sender_connects_to_a_real_redis_at_warm_up(own_redis):
    """The project's own sender connect (layer/groups.py) opens a connection to Redis before any event."""
    redis_server = own_redis()
    layer = redis_channel_layers(redis_server.url)
    rounds: list[list[int]] = []

    async def record_round(events):
        rounds.append([item.seq for item in events])

    admin = redis.Redis.from_url(redis_server.url)
    try:
        with override_settings(CHANNEL_LAYERS=layer):
            before = len(admin.client_list())
            sender = EventSender(record_round, connect=groups.open_connection)
            sender.warm_up()
            assert sender.drain(timeout_secs=5)
            assert len(admin.client_list()) == before + 1  # the sender thread's, open with no event sent
            assert sender.circuit.closed()
            assert rounds == []
    finally:
        admin.close()
