"""wait_until: the one way a test waits for something to happen, instead of sleeping a fixed time."""

import asyncio
import inspect
from collections.abc import Awaitable, Callable


async def wait_until(
    condition: Callable[[], bool | Awaitable[bool]],
    *,
    timeout: float = 10.0,
    interval: float = 0.05,
    message: str = "the condition never held",
) -> None:
    """Call ``condition`` (sync or async) until it is true; fail with ``message`` after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        outcome = condition()
        if inspect.isawaitable(outcome):
            outcome = await outcome
        if outcome:
            return
        if loop.time() > deadline:
            raise AssertionError(f"{message} (after {timeout}s)")
        await asyncio.sleep(interval)
