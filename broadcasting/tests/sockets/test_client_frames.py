"""sockets/client_frames.py: a client frame read, or the error code and message of why not."""

import pytest

from broadcasting.sockets.client_frames import Unreadable, longer_than, read
from broadcasting.wire.protocol import ErrorCode

TAKES = frozenset({"ping", "get_stats"})


@pytest.mark.parametrize(
    ("text", "code"),
    [
        (None, ErrorCode.BAD_REQUEST),  # a binary frame
        ("{not json", ErrorCode.BAD_JSON),
        ("[" * 100_000 + "]" * 100_000, ErrorCode.BAD_JSON),  # nested past the parser's depth
        ('["ping"]', ErrorCode.BAD_REQUEST),
        ('{"type": 7}', ErrorCode.BAD_REQUEST),
        ('{"type": "subscribe"}', ErrorCode.UNKNOWN_TYPE),
    ],
)
def test_an_unreadable_frame_says_why(text, code):
    outcome = read(text, TAKES)
    assert isinstance(outcome, Unreadable) and outcome.code == code


def test_an_unknown_type_is_named_back_cut_short():
    outcome = read('{"type": "' + "x" * 1000 + '"}', TAKES)
    assert isinstance(outcome, Unreadable) and outcome.message == f"Unknown message type: {'x' * 64}"


def test_a_readable_frame_is_its_object():
    assert read('{"type": "ping", "n": 1}', TAKES) == {"type": "ping", "n": 1}


def test_a_frame_is_measured_in_utf8_bytes():
    assert not longer_than(None, 10)
    assert not longer_than("a" * 10, 10)
    assert longer_than("a" * 11, 10)
    assert longer_than("é" * 6, 10)  # 12 bytes in UTF-8
    assert longer_than(b"a" * 11, 10)
