"""
wire/protocol.py names every frame type, error code and close code once; the docs' tables,
the AsyncAPI document the suite checks every frame against (testing/contract.py), the
consumer and realtime.js agree.
(realtime.js speaks /ws/<channel>; the /ws/ frames are checked against the docs.)
"""

import re

from broadcasting.contract.asyncapi import asyncapi_document
from broadcasting.sockets.consumer import CHANNEL_URL_FRAMES, MULTIPLEX_FRAMES, LiveSocketConsumer
from broadcasting.wire import protocol
from broadcasting.wire.protocol import (
    CLOSES_WITH,
    STAYS_OPEN,
    ClientFrame,
    CloseCode,
    MultiplexClientFrame,
    MultiplexServerFrame,
    ServerFrame,
)
from testing.live_server import PROJECT_DIR

PROTOCOL_DOC = (PROJECT_DIR / "docs" / "protocol.md").read_text()
REALTIME_JS = (PROJECT_DIR / "broadcasting" / "static" / "broadcasting" / "realtime.js").read_text()


def doc_section(title: str) -> str:
    found = re.search(rf"(?ms)^## {re.escape(title)}\n(.*?)(?=^## |\Z)", PROTOCOL_DOC)
    assert found is not None, f"docs/protocol.md has no section {title!r}"
    return found.group(1)


def test_the_close_code_table_lists_every_close_code():
    documented = {int(code) for code in re.findall(r"^\| (\d{4}) \|", doc_section("Close codes"), re.MULTILINE)}
    assert documented == set(CloseCode)


def test_the_error_code_tables_list_every_code_with_its_close():
    section = doc_section("Error codes")
    staying_open = set(re.findall(r"^\| `([a-z_]+)` \| (?!\d)", section, re.MULTILINE))
    closing = {code: int(close) for code, close in re.findall(r"^\| `([a-z_]+)` \| (\d{4}) \|", section, re.MULTILINE)}
    assert staying_open == STAYS_OPEN
    assert closing == CLOSES_WITH
    assert STAYS_OPEN | set(CLOSES_WITH) == set(protocol.ErrorCode) and not STAYS_OPEN & set(CLOSES_WITH)


def test_the_docs_show_every_server_frame_and_client_frame():
    shown = set(re.findall(r'^\{"type": "([a-z_]+)"', doc_section("Server to client"), re.MULTILINE))
    assert shown == set(ServerFrame)
    asked = set(re.findall(r'^\| `\{"type": "([a-z_]+)"\}`', doc_section("Client to server"), re.MULTILINE))
    assert asked == set(ClientFrame)


def test_the_asyncapi_document_has_every_frame_and_error_code():
    messages = asyncapi_document()["components"]["messages"]
    for frame_type in ServerFrame:
        assert f"posts_{frame_type}" in messages or f"socket_{frame_type}" in messages, frame_type
        assert f"multiplex_{frame_type}" in messages or f"posts_{frame_type}" in messages, frame_type
    for frame_type in MultiplexServerFrame:
        assert f"multiplex_{frame_type}" in messages
    for frame_type in [*ClientFrame, *MultiplexClientFrame]:
        assert f"multiplex_client_{frame_type}" in messages
    error_codes = messages["socket_error"]["payload"]["properties"]["code"]["enum"]
    assert error_codes == [code.value for code in protocol.ErrorCode]


def test_the_consumer_answers_every_client_frame():
    assert CHANNEL_URL_FRAMES == set(ClientFrame)
    assert MULTIPLEX_FRAMES == set(ClientFrame) | set(MultiplexClientFrame)
    for frame_type in MULTIPLEX_FRAMES:
        assert callable(getattr(LiveSocketConsumer, f"client_{frame_type}"))


def test_the_docs_show_the_multiplexed_sockets_frames():
    section = doc_section("Many channels on one socket: /ws/")
    asked = set(re.findall(r'^\| `\{"type": "([a-z_]+)"', section, re.MULTILINE))
    answered = set(re.findall(r'`\{"type": "([a-z_]+)"', section))
    assert asked == set(MultiplexClientFrame)
    assert set(MultiplexServerFrame) <= answered


def test_realtime_js_stops_on_exactly_the_permanent_closes_and_handles_every_control_frame():
    permanent = re.search(r"const PERMANENT_CLOSE_CODES = new Set\(\[([\d, ]+)\]\)", REALTIME_JS)
    assert permanent is not None
    assert {int(code) for code in permanent.group(1).split(",")} == set(protocol.PERMANENT_CLOSES)
    handled = set(re.findall(r'case "([a-z_]+)":', REALTIME_JS))
    assert set(ServerFrame) - protocol.MODEL_EVENTS <= handled


def test_realtime_js_shows_each_subscription_refusal_with_the_close_its_code_has_on_a_channel_socket():
    """ERROR_CLOSES in realtime.js: a /ws/ subscription's error code, shown as /ws/<channel> would close."""
    table = re.search(r"const ERROR_CLOSES = \{([^}]*)\};", REALTIME_JS)
    assert table is not None
    shown = {code: int(close) for code, close in re.findall(r"([a-z_]+): (\d{4})", table.group(1))}
    assert shown
    for code, close in shown.items():
        assert protocol.CLOSES_WITH[protocol.ErrorCode(code)] == close, code
    refusals = {"unknown_channel", "auth_required", "auth_failed", "invalid_filter"}
    assert refusals <= set(shown)  # the refusals of a subscribe frame that end it for good


def test_the_docs_realtime_js_and_its_package_say_the_same_protocol_version():
    import json

    package_dir = PROJECT_DIR / "broadcasting" / "static" / "broadcasting"
    package = json.loads((package_dir / "package.json").read_text())
    lock = json.loads((PROJECT_DIR / "typescript" / "package-lock.json").read_text())
    assert PROTOCOL_DOC.startswith(f"# Realtime protocol, version {protocol.PROTOCOL_VERSION}\n")
    assert f'export const PROTOCOL_VERSION = "{protocol.PROTOCOL_VERSION}";' in REALTIME_JS
    assert package["version"].startswith(f"{protocol.PROTOCOL_VERSION}.")
    assert lock["packages"]["../broadcasting/static/broadcasting"]["version"] == package["version"]


def test_realtime_js_declares_every_export_it_has():
    declarations = (PROJECT_DIR / "broadcasting" / "static" / "broadcasting" / "realtime.d.ts").read_text()
    exported = set(re.findall(r"^export (?:async )?(?:function|class|const) (\w+)", REALTIME_JS, re.M))
    declared = set(re.findall(r"^export (?:declare )?(?:function|class|const) (\w+)", declarations, re.M))
    assert exported == declared
