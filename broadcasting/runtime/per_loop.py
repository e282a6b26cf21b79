"""
PerLoop: one object per event loop, made on first use in that loop.

A server process has one event loop, but a process may run several over its life
(each in-process test has its own; so do management commands that run async code),
and what belongs to a loop (its futures, its Redis connections, its sockets) must not
leak into the next. Presence, the requests' turn before the fan-out and the Redis
clients each keep their per-loop state here; it is dropped with its loop.
"""

import asyncio
import weakref
from collections.abc import Callable, Coroutine
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class PerLoop(Generic[T]):
    """``make(loop)`` once per event loop; ``get()`` returns the running loop's (or ``loop``'s)."""

    def __init__(self, make: Callable[[asyncio.AbstractEventLoop], T]) -> None:
        self._make = make
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, T] = weakref.WeakKeyDictionary()

    def get(self, loop: asyncio.AbstractEventLoop | None = None) -> T:
        loop = loop or asyncio.get_running_loop()
        value = self._by_loop.get(loop)
        if value is None:
            value = self._by_loop[loop] = self._make(loop)
        return value


class LoopTask:
    """
    One background task per event loop, running ``run`` (a loop that ends when it has
    nothing left to do); ``ensure()`` starts it again in the running loop once it ended.
    """

    def __init__(self, run: Callable[[], Coroutine[Any, Any, None]]) -> None:
        self._run = run
        self._tasks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Task] = weakref.WeakKeyDictionary()

    def ensure(self) -> None:
        loop = asyncio.get_running_loop()
        task = self._tasks.get(loop)
        if task is None or task.done():
            self._tasks[loop] = loop.create_task(self._run())


def raise_if_cancelled() -> None:
    """
    For a task's forever loop, at the top of each turn: Python 3.11's ``wait_for`` and
    asgiref's thread calls can swallow a cancel that lands as they finish, and the
    task would then never end (a shutdown waiting for it forever).
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError()
