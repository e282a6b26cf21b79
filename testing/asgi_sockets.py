"""
Sockets through the whole ASGI application in this process (origin check, auth,
routing), with Channels' WebsocketCommunicator, every frame checked against the
protocol; and the users and posts the in-process tests make for them.
"""

from channels.testing import WebsocketCommunicator
from rest_framework.authtoken.models import Token

from broadcasting import no_broadcast
from posts.models import Post
from realtime_site.asgi import application
from users.models import User

from .contract import assert_frame_shape

# A page of the site itself: its origin is the handshake's Host.
ORIGIN = (b"origin", b"http://127.0.0.1:8000")
HOST = (b"host", b"127.0.0.1:8000")


class Socket:
    """A WebsocketCommunicator that checks each frame against the protocol."""

    def __init__(self, path: str, headers: list[tuple[bytes, bytes]] | None = None) -> None:
        self.communicator = WebsocketCommunicator(application, path, headers=[HOST, ORIGIN, *(headers or [])])

    async def open(self) -> tuple[bool, int | None]:
        return await self.communicator.connect()

    async def recv(self, expected_type: str | None = None, timeout: float = 3.0) -> dict:
        return assert_frame_shape(await self.communicator.receive_json_from(timeout=timeout), expected_type)

    async def send(self, frame) -> None:
        await self.communicator.send_json_to(frame)

    async def assert_nothing(self) -> None:
        assert await self.communicator.receive_nothing(timeout=0.3)

    async def close(self) -> None:
        await self.communicator.disconnect()


async def open_socket(path: str, *, token: str | None = None, cookie: str | None = None) -> Socket:
    headers = []
    if token:
        headers.append((b"authorization", f"Token {token}".encode()))
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    socket = Socket(path, headers)
    connected, _ = await socket.open()
    assert connected
    return socket


async def connected(path: str, token: str | None = None) -> Socket:
    """An open socket whose connection frame has been read."""
    socket = await open_socket(path, token=token)
    await socket.recv("connection")
    return socket


async def refused_with(path: str, close_code: int, error_code: str, **auth) -> None:
    socket = await open_socket(path, **auth)
    assert (await socket.recv("error"))["code"] == error_code
    assert await socket.communicator.receive_output(timeout=3) == {
        "type": "websocket.close",
        "code": close_code,
    }


def make_user_with_token(email: str, *, staff: bool = False) -> tuple[User, str]:
    with no_broadcast():
        user = User.objects.create_user(email, "pw-1234567890", name=email.split("@")[0], is_staff=staff)
    return user, Token.objects.create(user=user).key


def write_posts(count: int) -> list[int]:
    """``count`` published posts by one author (made without an event); their pks."""
    with no_broadcast():
        author, _ = User.objects.get_or_create(email="author@example.com")
    return [Post.objects.create(title=f"p{n}", author=author, published=True).pk for n in range(count)]
