"""A small WebSocket test client over the `websockets` library, checking every frame's shape."""

import asyncio
import json
from typing import Any

import websockets

from .protocol import assert_frame_shape

RECV_TIMEOUT_SECS = 5.0


class Socket:
    """A real WebSocket client connection to a live server."""

    def __init__(self, connection: websockets.ClientConnection) -> None:
        self.connection = connection

    @classmethod
    async def open(cls, url: str, *, token: str | None = None, origin: str | None = None) -> "Socket":
        headers = {"Authorization": f"Token {token}"} if token else {}
        connection = await websockets.connect(url, additional_headers=headers, origin=origin, open_timeout=10)
        return cls(connection)

    async def connected(self) -> dict:
        """Read and check the connection frame."""
        return await self.recv("connection")

    async def recv(self, expected_type: str | None = None, timeout: float = RECV_TIMEOUT_SECS) -> dict:
        raw = await asyncio.wait_for(self.connection.recv(), timeout)
        return assert_frame_shape(json.loads(raw), expected_type)

    async def send(self, frame: Any) -> None:
        await self.connection.send(frame if isinstance(frame, str | bytes) else json.dumps(frame))

    async def assert_silent(self, secs: float = 0.5) -> None:
        """Assert that no frame arrives for ``secs``."""
        try:
            raw = await asyncio.wait_for(self.connection.recv(), secs)
        except TimeoutError:
            return
        raise AssertionError(f"Expected no frame, got {raw}")

    async def closed_with(self, timeout: float = RECV_TIMEOUT_SECS) -> int:
        """Wait for the server to close the socket; return the close code."""
        try:
            while True:
                await asyncio.wait_for(self.connection.recv(), timeout)
        except websockets.ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else closed.code

    async def close(self) -> None:
        await self.connection.close()

    async def __aenter__(self) -> "Socket":
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.close()
