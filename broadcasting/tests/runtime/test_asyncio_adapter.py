"""runtime/asyncio_adapter.py's contract with the running Python: a coroutine started by hand finishes in a task."""

import asyncio

import pytest

from broadcasting.runtime import asyncio_adapter


async def test_a_coroutine_that_never_suspends_is_done_at_once():
    ran = []

    async def quick() -> None:
        ran.append(1)

    assert asyncio_adapter.start(quick()) is asyncio_adapter.DONE and ran == [1]


async def test_a_coroutine_that_suspends_on_a_future_is_finished_by_a_task():
    future = asyncio.get_running_loop().create_future()
    steps = []

    async def waits() -> None:
        steps.append("started")
        steps.append(await future)
        await asyncio.sleep(0)
        steps.append("finished")

    coroutine = waits()
    awaiting = asyncio_adapter.start(coroutine)
    assert awaiting is future and steps == ["started"]
    assert future._asyncio_future_blocking  # what Task.__step clears before it awaits the future itself
    task = asyncio.create_task(asyncio_adapter.finish_started(coroutine, awaiting))
    future.set_result("woken")
    await asyncio.wait_for(task, 1)
    assert steps == ["started", "woken", "finished"]


async def test_a_failure_after_the_start_reaches_the_task_and_closes_the_coroutine():
    future = asyncio.get_running_loop().create_future()

    async def fails() -> None:
        await future
        raise OSError("connection reset")

    coroutine = fails()
    task = asyncio.create_task(asyncio_adapter.finish_started(coroutine, asyncio_adapter.start(coroutine)))
    future.set_result(None)
    with pytest.raises(OSError):
        await task
