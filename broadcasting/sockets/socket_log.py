"""
One log line per socket opened, refused and closed (``realtime.sockets``): channel, user
id, client id, close code and duration, as fields for JSON logs.
"""

import logging
import time

from broadcasting.runtime.client_text import printable_path

socket_log = logging.getLogger("realtime.sockets")


def refused(path: str, close_code: int, error_code: str) -> None:
    path = printable_path(path)
    socket_log.info(
        "socket refused %s code=%s %s",
        path,
        close_code,
        error_code,
        extra={"path": path, "close_code": close_code, "error_code": error_code},
    )


def opened(channel: str, user_id: object, client_id: str) -> None:
    socket_log.info(
        "socket open channel=%s user=%s client_id=%s",
        channel,
        user_id,
        client_id,
        extra={"channel": channel, "user_id": user_id, "client_id": client_id},
    )


def closed(channel: str, user_id: object, client_id: str, close_code: int | None, opened_at: float) -> None:
    """``opened_at``: the time.monotonic() it opened at."""
    duration_secs = round(time.monotonic() - opened_at, 1)
    socket_log.info(
        "socket closed channel=%s user=%s code=%s after %.1fs",
        channel,
        user_id,
        close_code,
        duration_secs,
        extra={
            "channel": channel,
            "user_id": user_id,
            "close_code": close_code,
            "duration_secs": duration_secs,
            "client_id": client_id,
        },
    )
