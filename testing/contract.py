"""
Every frame a test receives, checked against the AsyncAPI document's message of its kind
(broadcasting/contract/), and REST bodies against the OpenAPI document: the documents
cannot drift from what the server sends. What JSON Schema cannot say (a UTC offset, sums
that must add up) is checked after it.
"""

import re
from datetime import datetime
from functools import cache
from typing import Any

from jsonschema import Draft7Validator, Draft202012Validator

from broadcasting.contract import frames
from broadcasting.contract.asyncapi import asyncapi_document
from broadcasting.contract.openapi import openapi_document
from broadcasting.wire.protocol import MODEL_EVENTS, MultiplexServerFrame, ServerFrame

SOCKET_REPLIES = {ServerFrame.PONG, ServerFrame.STATS}
CHANNEL_FRAMES = {ServerFrame.SYNC, ServerFrame.RESET, ServerFrame.PRESENCE, ServerFrame.JOIN, ServerFrame.LEAVE}


@cache
def message_validator(name: str) -> Draft7Validator:
    """A validator of the document's message ``name`` ($refs resolve in the document)."""
    document = asyncapi_document()
    wrapper = {"$ref": f"#/components/messages/{name}/payload", "components": document["components"]}
    return Draft7Validator(wrapper, format_checker=Draft7Validator.FORMAT_CHECKER)


@cache
def unlisted_channel_validator(channel: str, frame_type: str) -> Draft7Validator:
    """A channel registered after the document was built (a test's own model): the same frames, any data."""
    any_object = {"type": "object", "required": ["id"]}
    schemas = {
        **frames.channel_event_schemas(channel, any_object, any_object),
        "connection": frames.connection_schema(channel),
    }
    return Draft7Validator(schemas.get(frame_type, schemas["custom"]), format_checker=Draft7Validator.FORMAT_CHECKER)


def message_for(frame: dict) -> str | None:
    """The document's message for ``frame``, by its type and channel; None for a channel it does not list."""
    messages = asyncapi_document()["components"]["messages"]
    frame_type, channel = frame.get("type"), frame.get("channel")
    if frame_type in SOCKET_REPLIES:
        return f"socket_{frame_type}"
    if frame_type in set(MultiplexServerFrame) or (frame_type == ServerFrame.CONNECTION and channel is None):
        return f"multiplex_{frame_type}"
    if frame_type == ServerFrame.ERROR:
        return "multiplex_error" if "channel" in frame else "socket_error"
    if not isinstance(channel, str) or f"{channel}_sync" not in messages:
        return None
    known = f"{channel}_{frame_type}"
    return known if known in messages else f"{channel}_custom"


def assert_frame_shape(frame: Any, expected_type: str | None = None) -> dict:
    """Assert ``frame`` is what the AsyncAPI document says (of ``expected_type``); return it."""
    assert isinstance(frame, dict) and isinstance(frame.get("type"), str), frame
    if expected_type is not None:
        assert frame["type"] == expected_type, frame
    name = message_for(frame)
    if name is not None:
        validator = message_validator(name)
    else:
        assert isinstance(frame.get("channel"), str), frame
        validator = unlisted_channel_validator(frame["channel"], frame["type"])
    problems = sorted(validator.iter_errors(frame), key=lambda error: list(error.absolute_path))
    assert not problems, f"{frame['type']} frame against {name or 'its channel'}: " + "; ".join(
        f"{'/'.join(map(str, error.absolute_path)) or '(frame)'}: {error.message}" for error in problems[:3]
    )
    _assert_what_schemas_cannot_say(frame)
    return frame


def _assert_what_schemas_cannot_say(frame: dict) -> None:
    if "timestamp" in frame:
        offset = datetime.fromisoformat(frame["timestamp"]).utcoffset()
        assert offset is not None and offset.total_seconds() == 0, frame
    if frame["type"] in MODEL_EVENTS:
        assert frame["model"] == frame["channel"], frame
    if frame["type"] == ServerFrame.STATS:
        assert_stats_body(frame["data"])
    if frame["type"] == ServerFrame.PRESENCE:
        ids = [user["id"] for user in frame["data"]["users"]]
        assert len(ids) == len(set(ids)), f"a user listed twice: {frame}"
        assert frame["data"]["user_count"] >= len(ids), frame


def assert_stats_body(body: Any) -> None:
    """GET /ws/stats and the stats frame: counts that add up."""
    assert set(body) == {"total_channels", "channels", "total_connections"}, body
    assert all(isinstance(count, int) and count > 0 for count in body["channels"].values()), body
    assert body["total_channels"] == len(body["channels"])
    assert body["total_connections"] == sum(body["channels"].values())


@cache
def _path_patterns() -> list[tuple[re.Pattern, str]]:
    """Each OpenAPI path as a pattern: /api/posts/{id}/ matches /api/posts/12/."""
    return [
        (re.compile("^" + re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(path)) + "$"), path)
        for path in openapi_document()["paths"]
    ]


def documented_path(path: str) -> str | None:
    return next((template for pattern, template in _path_patterns() if pattern.match(path)), None)


@cache
def response_validator(path: str, method: str, status: int) -> Draft202012Validator | None:
    """The OpenAPI document's schema of a JSON response to ``path`` (a real one), if it documents one."""
    document = openapi_document()
    template = documented_path(path)
    operation = document["paths"].get(template, {}).get(method.lower()) if template else None
    if operation is None:
        return None
    response = operation.get("responses", {}).get(str(status))
    schema = (response or {}).get("content", {}).get("application/json", {}).get("schema")
    if schema is None:
        return None
    wrapper = {**schema, "components": document["components"]}
    return Draft202012Validator(wrapper, format_checker=Draft202012Validator.FORMAT_CHECKER)


def assert_rest_response_matches(method: str, path: str, status: int, body: Any) -> None:
    """A JSON response of the REST API is what the OpenAPI document says for that path and status."""
    validator = response_validator(path, method, status)
    if validator is None:
        return
    problems = list(validator.iter_errors(body))
    assert not problems, f"{method} {path} {status} against the OpenAPI document: " + "; ".join(
        f"{'/'.join(map(str, error.absolute_path)) or '(body)'}: {error.message}" for error in problems[:3]
    )


def check_rest_response(response: Any) -> None:
    """An httpx response of the REST API (/api/…, JSON), checked against the OpenAPI document."""
    if not response.request.url.path.startswith("/api/"):
        return
    if not response.headers.get("content-type", "").startswith("application/json"):
        return
    assert_rest_response_matches(
        response.request.method, response.request.url.path, response.status_code, response.json()
    )
