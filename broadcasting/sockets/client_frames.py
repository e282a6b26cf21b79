"""
A client frame read, or the reason it cannot be: too big (the socket closes 1009,
unparsed), not text, not JSON, not an object with a string ``type``, or a type this
socket does not take. Each reason but the first is an ``error`` frame; the socket lives.
"""

import json
from dataclasses import dataclass

from broadcasting.wire.protocol import ErrorCode


@dataclass(frozen=True)
class Unreadable:
    """Why a client frame was not read: its error code and message."""

    code: ErrorCode
    message: str


def longer_than(data: str | bytes | None, max_bytes: int) -> bool:
    """Whether a client frame is over ``max_bytes`` in UTF-8, encoding it only when its length cannot tell."""
    if data is None or len(data) <= max_bytes // 4:
        return False
    if isinstance(data, bytes) or len(data) > max_bytes:
        return len(data) > max_bytes
    return len(data.encode()) > max_bytes


def read(text_data: str | None, frame_types: frozenset[str]) -> dict | Unreadable:
    """The frame's JSON object, or why it is not one this socket takes."""
    if text_data is None:
        return Unreadable(ErrorCode.BAD_REQUEST, "Binary frames are not supported; send JSON text.")
    try:
        content = json.loads(text_data)
    except (ValueError, RecursionError):
        return Unreadable(ErrorCode.BAD_JSON, "Frame is not valid JSON (or nested too deeply).")
    if not isinstance(content, dict) or not isinstance(content.get("type"), str):
        return Unreadable(ErrorCode.BAD_REQUEST, 'Frame must be a JSON object with a string "type".')
    if content["type"] not in frame_types:
        return Unreadable(ErrorCode.UNKNOWN_TYPE, f"Unknown message type: {content['type'][:64]}")
    return content
