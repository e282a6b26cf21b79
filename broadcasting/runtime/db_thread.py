"""
``database_call``: Channels' ``database_sync_to_async``, but cancellable.

asgiref cannot stop a function already running in its thread, so a cancel that comes
meanwhile waits for the function and is then dropped: the task goes on as if never
cancelled (a hub's check loop outliving its last socket, a presence worker that a
shutdown waits for forever). Here the cancel is raised once the thread is done.
"""

import asyncio
import functools
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

from channels.db import database_sync_to_async

P = ParamSpec("P")
R = TypeVar("R")


def database_call(function: Callable[P, R]) -> Callable[P, Coroutine[Any, Any, R]]:
    """``function`` run in the database thread, closing stale connections around it; a cancel is never lost."""
    hop = database_sync_to_async(function)

    @functools.wraps(function)
    async def call(*args: P.args, **kwargs: P.kwargs) -> R:
        task = asyncio.current_task()
        cancels_before = task.cancelling() if task is not None else 0
        result = await hop(*args, **kwargs)
        if task is not None and task.cancelling() > cancels_before:
            raise asyncio.CancelledError()  # asgiref waited for the thread and swallowed it
        return result

    return call
