"""
What a socket's handshake says about its client: the client id it names itself by, and
the refusal a check raises (an ``error`` frame, then the code's 44xx close; on a
``subscribe`` frame, an ``error`` frame naming the channel, and the socket stays open).
"""

from urllib.parse import parse_qs

from broadcasting.wire.client_ids import is_valid_client_id
from broadcasting.wire.protocol import CLOSES_WITH, ErrorCode

# Query parameters of the protocol itself; every other one is a filter of the channel.
RESERVED_QUERY_PARAMS = ("client_id", "since", "epoch")


class Refused(Exception):
    """A handshake or a subscription the server will not take: its error code and message."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def close_code(self) -> int:
        return int(CLOSES_WITH[self.code])


def query_text(query_string: bytes) -> str:
    """A query string as Django's QueryDict reads one: UTF-8, else Latin-1 from a misbehaving client."""
    try:
        return query_string.decode()
    except UnicodeDecodeError:
        return query_string.decode("latin1")


def client_id_of(query_string: bytes) -> str | None:
    """The ``client_id`` the handshake gives (None: it gives none); raises Refused for a malformed one."""
    values = parse_qs(query_text(query_string), keep_blank_values=True).get("client_id")
    if not values:
        return None
    if not is_valid_client_id(values[-1]):
        raise Refused(ErrorCode.INVALID_CLIENT_ID, "client_id must be 1-64 characters of [A-Za-z0-9_-].")
    return values[-1]
