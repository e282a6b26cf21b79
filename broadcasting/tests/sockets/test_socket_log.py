"""sockets/socket_log.py: one line per socket opened, refused and closed, with its fields for JSON logs."""

import logging
import time

from broadcasting.sockets import socket_log


def test_each_line_carries_its_fields(caplog):
    with caplog.at_level(logging.INFO, logger="realtime.sockets"):
        socket_log.refused("/ws/nope\nforged", 4404, "unknown_channel")
        socket_log.opened("posts", 7, "tab-1")
        socket_log.closed("posts", 7, "tab-1", 1000, time.monotonic() - 2.0)
    refused, opened, closed = caplog.records
    assert refused.path == "/ws/nope%0Aforged" and refused.close_code == 4404
    assert (opened.channel, opened.user_id, opened.client_id) == ("posts", 7, "tab-1")
    assert closed.close_code == 1000 and 1.9 <= closed.duration_secs <= 2.5
    assert len(caplog.text.strip().splitlines()) == 3  # the forged line stayed in its own
