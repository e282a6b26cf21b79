"""One log line per request and per socket open/close, as JSON with LOG_FORMAT=json, on a real server."""

import json
import logging

import httpx
import pytest

from testing.sockets import Socket
from testing.wait import wait_until

pytestmark = pytest.mark.live_server


def logged(lines: list[dict], logger_name: str, **fields) -> list[dict]:
    """The lines of ``logger_name`` whose fields have these values."""
    wanted = {"name": logger_name, **fields}
    return [line for line in lines if all(line.get(key) == value for key, value in wanted.items())]


def json_lines(log: str) -> list[dict]:
    lines = []
    for line in log.splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            continue
    return lines


@pytest.mark.parametrize("kind", ["daphne", "serve"])
async def test_each_request_and_socket_is_logged_once_as_json(live_stack, kind):
    stack = live_stack(LOG_FORMAT="json", DJANGO_LOG_LEVEL="INFO")
    server = stack.start_server(kind)
    async with httpx.AsyncClient(base_url=server.http_url, timeout=10) as api:
        assert (await api.get("/api/posts/", params={"page_size": 1})).status_code == 200
    socket = await Socket.open(f"{server.ws_url}/ws/posts?client_id=logged-tab")
    await socket.connected()
    await socket.close()
    await wait_until(  # the server logs the close after the handshake ends
        lambda: logged(json_lines(server.log()), "realtime.sockets", client_id="logged-tab", close_code=1000),
        message="the socket's close was not logged",
    )

    lines = json_lines(server.log())
    requests = logged(lines, "realtime.requests", path="/api/posts/")
    assert len(requests) == 1 and requests[0]["status"] == 200 and requests[0]["method"] == "GET"
    sockets = logged(lines, "realtime.sockets", client_id="logged-tab")
    assert [line["message"].split()[1] for line in sockets] == ["open", "closed"]
    closed = sockets[1]
    assert closed["channel"] == "posts" and closed["close_code"] == 1000 and closed["duration_secs"] >= 0


def test_a_path_cannot_forge_a_log_line(db, client, caplog):
    """A decoded %0A in the path would start a line of its own in a plain log."""
    with caplog.at_level(logging.INFO, "realtime.requests"):
        client.get("/nothing%0A2026-11-29 INFO realtime.requests: GET /admin/ 200")
    (record,) = [record for record in caplog.records if record.name == "realtime.requests"]
    assert "\n" not in record.getMessage() and "%0A2026-11-29" in record.getMessage()
    assert "\n" not in record.path
