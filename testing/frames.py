"""Reading the frames a test waits for, on either socket client (testing/sockets.py, testing/asgi_sockets.py)."""

import asyncio
from typing import Any

# Frames that may come between the ones a test waits for: presence, and the syncs of skipped events.
INCIDENTAL = frozenset({"join", "leave", "presence", "sync"})


async def next_of(socket: Any, frame_type: str, passing: frozenset[str] = INCIDENTAL, timeout: float = 5.0) -> dict:
    """The next frame of ``frame_type`` within ``timeout`` seconds, passing over frames of the types in ``passing``."""
    async with asyncio.timeout(timeout):
        while (frame := await socket.recv(timeout=timeout))["type"] != frame_type:
            assert frame["type"] in passing, frame
    return frame


async def presence_of(socket: Any, **fields: Any) -> dict:
    """Ask ``get_presence`` (``channel=`` on /ws/) and return the answer's data."""
    await socket.send({"type": "get_presence", **fields})
    return (await next_of(socket, "presence"))["data"]
