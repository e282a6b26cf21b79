"""The request's turn: while a REST request is answered, the fan-out waits for it between chunks, but never stops."""

import asyncio

from broadcasting.delivery.fanout import FANOUT_CHUNK_SOCKETS, ChannelFanout
from broadcasting.runtime.request_priority import BusyRequests, busy_requests


class CountingSocket:
    channel = "posts"
    credentials = None

    def __init__(self, offers: list) -> None:
        self.offers = offers

    def offer(self, event, now: float) -> None:
        self.offers.append(event)


async def test_with_no_request_the_fan_out_only_gives_the_loop_a_turn():
    busy, ran = BusyRequests(), []
    waiting = asyncio.create_task(busy.yield_to_requests(max_wait_secs=60))
    asyncio.get_running_loop().call_soon(ran.append, "other callback")
    await asyncio.wait_for(waiting, 1)
    assert ran == ["other callback"]


async def test_the_fan_out_waits_until_the_last_running_request_ends():
    busy = BusyRequests()
    first, second = busy.turn(), busy.turn()
    first.take()
    second.take()
    waiting = asyncio.create_task(busy.yield_to_requests(max_wait_secs=60))
    await asyncio.sleep(0.01)
    first.release()
    await asyncio.sleep(0.01)
    assert not waiting.done()
    second.release()
    await asyncio.wait_for(waiting, 1)
    assert busy.count == 0


async def test_a_request_that_never_ends_delays_the_fan_out_by_at_most_its_share():
    busy = BusyRequests()
    busy.turn().take()
    await asyncio.wait_for(busy.yield_to_requests(max_wait_secs=0.01), 1)
    assert busy.count == 1


async def test_taking_or_releasing_a_turn_twice_counts_once():
    busy = BusyRequests()
    turn = busy.turn()
    turn.take()
    turn.take()
    assert busy.count == 1
    turn.release()
    turn.release()
    assert busy.count == 0


async def test_each_event_loop_has_its_own_requests():
    here = busy_requests()
    assert busy_requests() is here
    elsewhere = await asyncio.to_thread(asyncio.run, _busy_requests_of_a_new_loop())
    assert elsewhere is not here


async def _busy_requests_of_a_new_loop() -> BusyRequests:
    return busy_requests()


async def test_a_fan_out_waits_after_a_chunk_while_a_request_runs(settings):
    fanout, offers = fanout_of(FANOUT_CHUNK_SOCKETS * 2 + 1)
    # The pause may last 999 times a chunk's time: far more than the turns below.
    settings.REALTIME = {**getattr(settings, "REALTIME", {}), "FANOUT_SHARE_DURING_REQUESTS": 0.001}
    turn = busy_requests().turn()
    turn.take()
    dispatching = asyncio.create_task(fanout.dispatch("event"))
    for _ in range(5):  # without the request, three turns would have finished it
        await asyncio.sleep(0)
    assert len(offers) == FANOUT_CHUNK_SOCKETS
    turn.release()
    await asyncio.wait_for(dispatching, 5)
    assert len(offers) == len(fanout.sockets)


async def test_a_request_that_never_ends_does_not_stop_a_fan_out(settings):
    fanout, offers = fanout_of(FANOUT_CHUNK_SOCKETS * 3)
    settings.REALTIME = {**getattr(settings, "REALTIME", {}), "FANOUT_SHARE_DURING_REQUESTS": 0.25}
    turn = busy_requests().turn()
    turn.take()
    try:
        await asyncio.wait_for(fanout.dispatch("event"), 5)
    finally:
        turn.release()
    assert len(offers) == len(fanout.sockets)


def fanout_of(sockets: int) -> tuple[ChannelFanout, list]:
    fanout, offers = ChannelFanout("posts", asyncio.get_running_loop()), list[str]()
    fanout.sockets = {CountingSocket(offers) for _ in range(sockets)}
    return fanout, offers


def test_a_share_that_is_not_one_is_refused_by_a_check(settings):
    from broadcasting.checks import check_fanout_share_is_a_share

    for share in (0, -1, 1.5, "half"):
        settings.REALTIME = {"FANOUT_SHARE_DURING_REQUESTS": share}
        assert [error.id for error in check_fanout_share_is_a_share()] == ["broadcasting.E004"], share
    for share in (0.25, 1):
        settings.REALTIME = {"FANOUT_SHARE_DURING_REQUESTS": share}
        assert check_fanout_share_is_a_share() == []
