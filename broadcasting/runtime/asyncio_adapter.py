"""
asyncio's adapter: starting a coroutine by hand and handing it to a task only if it
suspends, which Python 3.12's eager tasks do publicly (``asyncio.eager_task_factory``).
On 3.11 this is done as ``Task.__step`` does it, through the awaited future's
``_asyncio_future_blocking`` flag; broadcasting/tests/runtime/test_asyncio_adapter.py
fails if the running Python stops taking it.

The outbox starts a server's send this way: on a server that is not pushing back the
send is over before it would ever suspend, so the common case costs no task switch.
"""

import asyncio
from collections.abc import Coroutine
from typing import Any

# What ``start`` returns for a coroutine that finished without suspending.
DONE = object()


def start(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run ``coroutine`` to its first suspension; DONE if it finished, else what it waits on."""
    try:
        return coroutine.send(None)
    except StopIteration:
        return DONE


async def finish_started(coroutine: Coroutine[Any, Any, Any], awaiting: Any) -> None:
    """Run to completion a coroutine ``start`` left waiting on ``awaiting``: what a Task would have done."""
    try:
        while True:
            if awaiting is None:
                await asyncio.sleep(0)  # a bare yield: give the loop a turn
            else:
                # Take the future over from the started coroutine, as Task.__step does.
                awaiting._asyncio_future_blocking = False
                await awaiting
            try:
                awaiting = coroutine.send(None)
            except StopIteration:
                return
    except BaseException:
        coroutine.close()
        raise
