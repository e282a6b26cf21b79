"""EventSender (sender.py) with a send function of the test's own: rounds, order, the circuit, the queue bound."""

import asyncio

from django.test import override_settings

from broadcasting import metrics
from broadcasting.events import LiveEvent
from broadcasting.sender import ROUND_EVENTS, EventSender


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
