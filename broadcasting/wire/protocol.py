"""
The wire protocol's names, once: frame types, error codes and close codes.

docs/protocol.md describes them for people; this module is what the code uses.
broadcasting/tests/test_protocol.py checks that the docs' tables, the test suite's
frame checks (testing/contract.py, through the AsyncAPI document) and realtime.js agree with it, so a code added in
one place and forgotten in another fails a test.
"""

from enum import IntEnum, StrEnum

# docs/protocol.md's version: 1 with the 1.1 and 1.2 additions. realtime.js's
# PROTOCOL_VERSION and its package.json's major.minor say the same (test_protocol.py).
PROTOCOL_VERSION = "1.2"


class ServerFrame(StrEnum):
    """The ``type`` of frames the server sends (besides custom events, named by their sender)."""

    CONNECTION = "connection"
    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"
    PONG = "pong"
    STATS = "stats"
    RESET = "reset"
    SYNC = "sync"
    ERROR = "error"
    PRESENCE = "presence"  # get_presence's answer
    JOIN = "join"  # a user's first socket on the channel opened (no seq)
    LEAVE = "leave"  # a user's last socket on the channel closed, and stayed closed (no seq)


MODEL_EVENTS = frozenset({ServerFrame.CREATED, ServerFrame.UPDATED, ServerFrame.DELETED})


class ClientFrame(StrEnum):
    """The ``type`` of frames a client may send on any socket."""

    PING = "ping"
    GET_STATS = "get_stats"
    GET_PRESENCE = "get_presence"


class MultiplexClientFrame(StrEnum):
    """What a client sends on /ws/ besides ClientFrame."""

    SUBSCRIBE = "subscribe"
    UNSUBSCRIBE = "unsubscribe"


class MultiplexServerFrame(StrEnum):
    """What the server answers on /ws/ besides ServerFrame."""

    SUBSCRIBED = "subscribed"
    UNSUBSCRIBED = "unsubscribed"


class CloseCode(IntEnum):
    MESSAGE_TOO_BIG = 1009  # a client frame over REALTIME["MAX_CLIENT_FRAME_BYTES"], refused unparsed
    SEND_FAILED = 1011  # sending to this one socket failed; reconnect and resume
    SERVER_RESTART = 1012  # the server is shutting down; reconnect and resume
    BAD_REQUEST = 4400  # the URL's client_id, since or epoch is malformed
    UNAUTHORIZED = 4401  # sign-in needed, or the socket's credentials ended
    FORBIDDEN = 4403  # signed in but not allowed on this channel (reserved)
    UNKNOWN_CHANNEL = 4404  # no such channel, or not a /ws/<channel> path
    SLOW_CONSUMER = 4408  # too slow to read; resume with since
    RATE_LIMITED = 4429  # frame rate or connection limits


# Closes after which reconnecting cannot help until the client changes something
# (its URL, its credentials): realtime.js stops instead of retrying.
PERMANENT_CLOSES = frozenset(
    {CloseCode.BAD_REQUEST, CloseCode.UNAUTHORIZED, CloseCode.FORBIDDEN, CloseCode.UNKNOWN_CHANNEL}
)


class ErrorCode(StrEnum):
    """The ``code`` of an ``error`` frame."""

    # Sent while the socket stays open.
    BAD_JSON = "bad_json"
    BAD_REQUEST = "bad_request"
    UNKNOWN_TYPE = "unknown_type"
    # Sent just before the close in CLOSES_WITH.
    INVALID_CLIENT_ID = "invalid_client_id"
    INVALID_SINCE = "invalid_since"
    INVALID_EPOCH = "invalid_epoch"
    INVALID_FILTER = "invalid_filter"
    AUTH_REQUIRED = "auth_required"
    AUTH_FAILED = "auth_failed"
    UNKNOWN_CHANNEL = "unknown_channel"
    RATE_LIMITED = "rate_limited"
    SLOW_CONSUMER = "slow_consumer"
    TOO_MANY_CONNECTIONS = "too_many_connections"


# Error codes sent on a socket that stays open.
STAYS_OPEN = frozenset({ErrorCode.BAD_JSON, ErrorCode.BAD_REQUEST, ErrorCode.UNKNOWN_TYPE})

# The others: the close each comes with.
CLOSES_WITH: dict[ErrorCode, CloseCode] = {
    ErrorCode.INVALID_CLIENT_ID: CloseCode.BAD_REQUEST,
    ErrorCode.INVALID_SINCE: CloseCode.BAD_REQUEST,
    ErrorCode.INVALID_EPOCH: CloseCode.BAD_REQUEST,
    ErrorCode.INVALID_FILTER: CloseCode.BAD_REQUEST,
    ErrorCode.AUTH_REQUIRED: CloseCode.UNAUTHORIZED,
    ErrorCode.AUTH_FAILED: CloseCode.UNAUTHORIZED,
    ErrorCode.UNKNOWN_CHANNEL: CloseCode.UNKNOWN_CHANNEL,
    ErrorCode.RATE_LIMITED: CloseCode.RATE_LIMITED,
    ErrorCode.SLOW_CONSUMER: CloseCode.SLOW_CONSUMER,
    ErrorCode.TOO_MANY_CONNECTIONS: CloseCode.RATE_LIMITED,
}


def error_frame(code: ErrorCode, message: str) -> dict:
    return {"type": ServerFrame.ERROR.value, "code": code.value, "message": message}
