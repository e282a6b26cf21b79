"""
Hostile inputs generated from the two documents, against a real server: schemathesis
from the OpenAPI document (no 500, every response as documented), and hypothesis from
the AsyncAPI document's client frames plus junk (every answer as documented, the socket
and another client's socket unharmed). `make test` runs a bounded number of cases;
`make fuzz` runs thousands (FUZZ_REST_EXAMPLES, FUZZ_FRAME_EXAMPLES).
"""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.sync.client import connect

from broadcasting.contract.asyncapi import asyncapi_document
from testing.contract import assert_frame_shape
from testing.frame_strategies import from_schema

pytestmark = pytest.mark.live_server

REST_EXAMPLES = int(os.environ.get("FUZZ_REST_EXAMPLES", "5"))
FRAME_EXAMPLES = int(os.environ.get("FUZZ_FRAME_EXAMPLES", "150"))
FUZZ_ENV = {
    "API_THROTTLE_USER": "1000000/minute",
    "API_THROTTLE_ANON": "1000000/minute",
    "REALTIME_CLIENT_FRAMES_PER_SEC": "100000",
    "REALTIME_CLIENT_FRAME_BURST": "100000",
}
# No 500, and every response a documented status, with its documented schema, content type and headers.
REST_CHECKS = (
    "not_a_server_error,status_code_conformance,response_schema_conformance,content_type_conformance,"
    "response_headers_conformance"
)


def schemathesis_cli() -> str:
    return shutil.which("st", path=str(Path(sys.executable).parent)) or "st"


def test_the_rest_api_under_schemathesis_answers_no_500_and_only_what_it_documents(live_stack, tmp_path):
    stack = live_stack(**FUZZ_ENV)
    # Staff without the user permissions: every operation is tried, and the fuzzing user
    # cannot deactivate itself halfway through (its password and email need the current password).
    token = stack.create_user("fuzzer@example.com", staff=True)
    server = stack.start_server("serve")
    report = tmp_path / "report.ndjson"
    completed = subprocess.run(
        [schemathesis_cli(), "run", f"{server.http_url}/api/schema/?format=json", "--max-examples", str(REST_EXAMPLES),
         "--checks", REST_CHECKS, "--header", f"Authorization: Token {token}", "--warnings", "off",
         "--seed", os.environ.get("FUZZ_SEED", "20261207"), "--report", "ndjson", "--report-ndjson-path", str(report)],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    summary = re.search(r"(\d+) generated", completed.stdout)
    print(f"REST cases: {summary.group(1) if summary else '?'}")
    assert completed.returncode == 0, completed.stdout[-4000:]
    assert summary is not None and int(summary.group(1)) >= 100, completed.stdout[-2000:]
    assert "Traceback" not in server.log()


def client_frames() -> st.SearchStrategy:
    """What a client sends on /ws/: the document's client frames, and frames it does not describe."""
    messages = asyncapi_document()["components"]["messages"]
    described = [from_schema(messages[name]["payload"]) for name in messages if name.startswith("multiplex_client_")]
    leaf = st.none() | st.booleans() | st.integers() | st.text(max_size=20)
    nested = st.recursive(
        leaf,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
        max_leaves=20,
    )
    junk = st.one_of(st.text(max_size=200), st.dictionaries(st.text(max_size=10), nested, max_size=6).map(json.dumps))
    return st.one_of(st.one_of(described).map(json.dumps), junk)


def answers_until_pong(socket) -> list[dict]:
    """Every frame until the pong of the ping sent after the fuzzed frame; each checked against the document."""
    socket.send(json.dumps({"type": "ping"}))
    frames = []
    while True:
        frame = assert_frame_shape(json.loads(socket.recv(timeout=10)))
        frames.append(frame)
        if frame["type"] == "pong":
            return frames


def test_client_frames_from_the_asyncapi_document_and_junk_get_documented_answers_and_harm_no_one(live_stack):
    stack = live_stack(**FUZZ_ENV)
    token = stack.create_user("fuzzer@example.com", staff=True)
    server = stack.start_server("serve")
    headers = {"Authorization": f"Token {token}"}
    with (
        connect(f"{server.ws_url}/ws/posts", additional_headers=headers) as bystander,
        connect(f"{server.ws_url}/ws/", additional_headers=headers, max_size=None) as fuzzed,
    ):
        assert_frame_shape(json.loads(bystander.recv(timeout=10)), "connection")
        assert_frame_shape(json.loads(fuzzed.recv(timeout=10)), "connection")
        seen = {"cases": 0}

        @settings(max_examples=FRAME_EXAMPLES, deadline=None, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
        @given(client_frames())
        def every_frame_is_answered_as_documented(text: str) -> None:
            seen["cases"] += 1
            fuzzed.send(text)
            answers_until_pong(fuzzed)  # the socket lives: the ping after it is answered

        every_frame_is_answered_as_documented()
        print(f"frame cases: {seen['cases']}")
        assert seen["cases"] >= min(FRAME_EXAMPLES, 100)
        # The other client's socket saw nothing of it and still works.
        response = httpx.post(
            f"{server.http_url}/api/posts/", json={"title": "after", "published": True}, headers=headers
        )
        assert response.status_code == 201
        while (frame := assert_frame_shape(json.loads(bystander.recv(timeout=10))))["type"] != "created":
            assert frame["type"] in {"sync"}, frame
        assert frame["data"]["title"] == "after"
    assert "Traceback" not in server.log()
