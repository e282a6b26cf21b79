"""PerLoop and LoopTask (runtime/per_loop.py): one object, or one running task, per event loop."""

import asyncio
import gc

import pytest

from broadcasting.runtime.per_loop import LoopTask, PerLoop, raise_if_cancelled


async def test_one_object_per_loop_made_once_with_its_loop():
    made: list[asyncio.AbstractEventLoop] = []
    per_loop = PerLoop(lambda loop: made.append(loop) or object())
    here = per_loop.get()
    assert per_loop.get() is here and per_loop.get(asyncio.get_running_loop()) is here
    elsewhere = await asyncio.to_thread(asyncio.run, _get(per_loop))
    assert elsewhere is not here
    assert made[0] is asyncio.get_running_loop() and len(made) == 2


def test_an_object_goes_with_its_loop():
    per_loop = PerLoop(lambda loop: object())
    loop = asyncio.new_event_loop()
    per_loop.get(loop)
    loop.close()
    del loop
    gc.collect()
    assert len(per_loop._by_loop) == 0


async def _get(per_loop: PerLoop) -> object:
    return per_loop.get()


async def test_a_loop_task_runs_once_at_a_time_and_starts_again_after_it_ended():

    runs: list[int] = []
    release = asyncio.Event()

    async def run() -> None:
        runs.append(len(runs))
        await release.wait()

    task = LoopTask(run)
    task.ensure()
    task.ensure()
    await asyncio.sleep(0)
    assert runs == [0]  # the second ensure found it running
    release.set()
    await asyncio.sleep(0)
    task.ensure()
    await asyncio.sleep(0)
    assert runs == [0, 1]


async def test_a_forever_loop_ends_on_a_cancel_something_swallowed():
    turns = []

    async def swallowing_call() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            pass  # as 3.11's wait_for does when its inner call finishes at the same time

    async def forever() -> None:
        while True:
            raise_if_cancelled()
            turns.append(1)
            await swallowing_call()

    task = asyncio.get_running_loop().create_task(forever())
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 2)
    assert turns == [1]
