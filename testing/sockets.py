"""A small WebSocket test client over the `websockets` library, checking every frame's shape."""

import asyncio
import base64
import json
import os
import socket
from typing import Any
from urllib.parse import urlsplit

import websockets
from websockets.typing import Origin

from .contract import assert_frame_shape

RECV_TIMEOUT_SECS = 5.0


class Socket:
    """A real WebSocket client connection to a live server."""

    def __init__(self, connection: websockets.ClientConnection) -> None:
        self.connection = connection

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        token: str | None = None,
        origin: str | None = None,
        cookies: dict | None = None,
        headers: dict | None = None,
    ) -> "Socket":
        headers = dict(headers or {})
        if token:
            headers["Authorization"] = f"Token {token}"
        if cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
        connection = await websockets.connect(
            url, additional_headers=headers, origin=Origin(origin) if origin else None, open_timeout=10
        )
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
        raise AssertionError(f"Expected no frame, got {raw!r}")

    async def frames_until_closed(self, timeout: float = RECV_TIMEOUT_SECS) -> tuple[list[dict], int]:
        """
        Every frame the server sends until it closes the socket, checked, and the close
        code (1006 without a close frame); TimeoutError if it is still open after ``timeout``.
        """
        frames: list[dict] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            while True:
                frames.append(await self.recv(timeout=max(0.01, deadline - loop.time())))
        except websockets.ConnectionClosed as closed:
            return frames, closed.rcvd.code if closed.rcvd else 1006

    async def closed_with(self, timeout: float = RECV_TIMEOUT_SECS) -> int:
        """Wait for the server to close the socket; return the close code."""
        try:
            while True:
                await asyncio.wait_for(self.connection.recv(), timeout)
        except websockets.ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else 1006  # no close frame: closed abnormally

    async def close(self) -> None:
        await self.connection.close()

    async def __aenter__(self) -> "Socket":
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.close()


async def open_counting_refusals(url: str, count: int, *, token: str | None = None) -> tuple[list[Socket], int]:
    """Open ``count`` sockets one after another; (those accepted, how many were refused 4429, closed)."""
    accepted, refused = [], 0
    for _ in range(count):
        socket = await Socket.open(url, token=token)
        frame = await socket.recv()
        if frame["type"] == "connection":
            accepted.append(socket)
        else:
            assert frame["code"] == "too_many_connections", frame
            refused += 1
            await socket.close()
    return accepted, refused


class StalledSocket:
    """
    A WebSocket client that stops reading after the handshake, as a frozen browser tab
    or a hostile client would: a plain TCP socket with a small receive buffer that
    nothing reads, so the server's frames pile up on the server's side, until
    ``read_until_closed`` reads what the server sent.
    """

    def __init__(self, raw: socket.socket) -> None:
        self.raw = raw

    @classmethod
    async def open(cls, url: str, receive_buffer_bytes: int = 4096) -> "StalledSocket":
        return await asyncio.to_thread(cls._open, url, receive_buffer_bytes)

    @classmethod
    def _open(cls, url: str, receive_buffer_bytes: int) -> "StalledSocket":
        parts = urlsplit(url)
        raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer_bytes)
        raw.settimeout(RECV_TIMEOUT_SECS)
        raw.connect((parts.hostname, parts.port))
        key = base64.b64encode(os.urandom(16)).decode()
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        raw.sendall(
            f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        response = b""
        while not response.endswith(b"\r\n\r\n"):  # byte by byte: leave every frame unread
            response += raw.recv(1)
        assert response.startswith(b"HTTP/1.1 101"), response
        return cls(raw)

    async def read_until_closed(self, timeout: float = 30.0) -> tuple[list[dict], int | None]:
        """Read every frame the server sent, up to its close; (frames, close code, or None if dropped)."""
        self.raw.setblocking(False)
        reader, _ = await asyncio.open_connection(sock=self.raw, limit=2**24)
        frames: list[dict] = []
        message = b""
        try:
            while True:
                head = await asyncio.wait_for(reader.readexactly(2), timeout)
                opcode, length = head[0] & 0x0F, head[1] & 0x7F
                if length == 126:
                    length = int.from_bytes(await reader.readexactly(2), "big")
                elif length == 127:
                    length = int.from_bytes(await reader.readexactly(8), "big")
                payload = await reader.readexactly(length)
                if opcode == 0x8:
                    return frames, int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None
                if opcode in (0x0, 0x1):  # pings (0x9) are left unanswered, as a frozen client would
                    message += payload
                    if head[0] & 0x80:
                        frames.append(json.loads(message))
                        message = b""
        except (asyncio.IncompleteReadError, ConnectionError):
            return frames, None

    def abort(self) -> None:
        self.raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        self.raw.close()
