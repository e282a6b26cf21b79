"""runtime/db_thread.py: a cancel that lands while the function runs in its thread is not lost."""

import asyncio
import threading

import pytest

from broadcasting.runtime.db_thread import database_call

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_cancel_during_the_thread_ends_the_task_once_the_thread_is_done():
    started, release = threading.Event(), threading.Event()
    after = []

    def slow() -> int:
        started.set()
        release.wait(5)
        return 1

    async def worker() -> None:
        await database_call(slow)()
        after.append("went on")  # what asgiref alone lets happen
        await asyncio.sleep(60)

    task = asyncio.get_running_loop().create_task(worker())
    await asyncio.to_thread(started.wait, 5)
    task.cancel()
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 5)
    assert after == []


async def test_an_uncancelled_call_returns_its_result():
    assert await database_call(lambda: 41 + 1)() == 42
