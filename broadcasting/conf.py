"""
The REALTIME settings block: every setting's default and meaning live here, once.

settings.py builds REALTIME from the environment with `from_environment()` (each
setting `NAME` is read from `REALTIME_NAME`, typed by its default); code reads it with
`realtime_setting()`. docs/configuration.md lists the same names and defaults, and a
test (broadcasting/tests/test_conf.py) keeps the two in step.
"""

from dataclasses import dataclass
from typing import Any

from django.conf import settings


@dataclass(frozen=True)
class RealtimeSetting:
    default: Any
    meaning: str


SETTINGS: dict[str, RealtimeSetting] = {
    "BROADCAST": RealtimeSetting(
        True,
        "Off: every write commits as usual and announces nothing (benchmarks of the price of "
        "publishing; maintenance). Per block of code, use broadcasting.no_broadcast().",
    ),
    "ALLOWED_ORIGINS": RealtimeSetting(
        [],
        "Web pages allowed to open sockets besides the site's own origin, whole origins as in "
        'CSRF_TRUSTED_ORIGINS: "https://app.example.com", "https://*.example.com". "*" is refused (E003).',
    ),
    "PUBLISH_TIMEOUT_SECS": RealtimeSetting(1.0, "Longest a round of sends to the layer may take (sender thread)."),
    "PUBLISH_RETRY_SECS": RealtimeSetting(
        5.0, "After a failed round, how long the sender leaves the layer alone (sockets catch up from the history)."
    ),
    "SENDER_QUEUE_EVENTS": RealtimeSetting(10000, "Most events waiting for the sender; past it the oldest are left."),
    "PRESENCE": RealtimeSetting(
        True, "Off: no join/leave frames and get_presence is refused; socket counts (get_stats) go on."
    ),
    "PRESENCE_LINGER_SECS": RealtimeSetting(
        5.0,
        "A user's last socket on a channel must stay closed this long before they `leave` (a reconnect sends neither).",
    ),
    "PRESENCE_MAX_LISTED_USERS": RealtimeSetting(
        200, "Most users a `presence` frame lists (its `user_count` still counts all of them)."
    ),
    "PRESENCE_REFRESH_SECS": RealtimeSetting(
        10.0,
        "With Redis: how often a process refreshes its socket counts and presence, and sweeps out dead processes'.",
    ),
    "PRESENCE_TTL_SECS": RealtimeSetting(
        30.0, "With Redis: when a dead process's socket counts and present users expire (its users then `leave`)."
    ),
    "HISTORY_RETENTION_SECS": RealtimeSetting(86400, "How long events are kept for resume."),
    "HISTORY_MAX_EVENTS": RealtimeSetting(10000, "Most events kept per channel."),
    "PRUNE_EVERY_EVENTS": RealtimeSetting(100, "Writes prune the history every this many events."),
    "SEQ_CHECK_INTERVAL_SECS": RealtimeSetting(
        2.0, "How often each process compares its sockets' position (and credentials) with the database."
    ),
    "IDLE_SYNC_SECS": RealtimeSetting(20.0, "An idle socket is sent a `sync` frame with the channel's seq after this."),
    "CLIENT_FRAMES_PER_SEC": RealtimeSetting(10.0, "Frames a client may send, steady rate; beyond, close 4429."),
    "CLIENT_FRAME_BURST": RealtimeSetting(30, "Frames a client may send in a burst."),
    "MAX_CLIENT_FRAME_BYTES": RealtimeSetting(
        64 * 1024,
        "Largest frame a client may send; a bigger one closes the socket 1009 (message too big) before it is "
        "parsed. make serve's uvicorn refuses it while reading it.",
    ),
    "MAX_FILTER_PARAMS": RealtimeSetting(
        20, "Most filter parameters one subscription may give; beyond, invalid_filter before anything is parsed."
    ),
    "MAX_FILTER_VALUE_CHARS": RealtimeSetting(
        1024, "Longest value of one filter parameter (names: 64 characters); beyond, invalid_filter."
    ),
    "MAX_FRAME_BYTES": RealtimeSetting(
        256 * 1024, 'Largest frame sent: a bigger event goes out as {"id": …} with "truncated": true.'
    ),
    "OUTBOX_MAX_BYTES": RealtimeSetting(
        4 * 1024 * 1024,
        "Bytes waiting to be sent to one socket before it is closed 4408 (at least 2x MAX_FRAME_BYTES).",
    ),
    "SEND_TIMEOUT_SECS": RealtimeSetting(
        10.0, "Longest one send may wait on the server before the socket is closed 4408."
    ),
    "FANOUT_SHARE_DURING_REQUESTS": RealtimeSetting(
        0.25,
        "Share of a server process's event loop the fan-out keeps while REST requests are being answered "
        "(0 < share <= 1, check E004; 1 gives requests no turn): lower, writes stay faster under a large "
        "fan-out and deliveries lag more.",
    ),
    "RELAY_BACKLOG_MESSAGES": RealtimeSetting(
        1000,
        "Messages of a channel received from the layer and waiting for its fan-out, per process; beyond, "
        "they are dropped and counted (realtime_relay_drops_total), and sockets fill the events from the history.",
    ),
    "SEQ_LOCK_WAITERS": RealtimeSetting(
        2,
        "Request threads of one process that may wait the whole lock timeout for a channel's seq row (held by a "
        "transaction writing to that channel); the next writers wait while the row looks briefly taken "
        "(log/sequence.py), then get 503 with Retry-After.",
    ),
    "REPLAY_PAGE_EVENTS": RealtimeSetting(50, "Replays and gap repairs read the history this many events at a time."),
    "MAX_SOCKETS_PER_ADDRESS": RealtimeSetting(
        1000, "Sockets one client address may hold on the server; beyond, 4429."
    ),
    "MAX_SOCKETS_PER_USER": RealtimeSetting(100, "Sockets one signed-in user may hold on the server; beyond, 4429."),
    "CONNECTS_PER_ADDRESS_PER_MIN": RealtimeSetting(
        300, "Sockets one address may open per minute, counted in the shared cache; beyond, 4429."
    ),
    "RESTART_WINDOW_SECS": RealtimeSetting(
        5.0,
        "Pages this project renders pass it to realtime.js as restartWindowSecs: after a 1012 (a deploy), each "
        "client reconnects at a random moment within this window. Raise it with the sockets per worker.",
    ),
    "SERVER_PROCESSES": RealtimeSetting(
        1, "Server processes sharing one port (make serve sets it to WORKERS); each holds its share of the caps."
    ),
}

DEFAULTS: dict[str, Any] = {name: setting.default for name, setting in SETTINGS.items()}


def from_environment(env) -> dict[str, Any]:
    """REALTIME for settings.py: each NAME from the REALTIME_NAME variable, typed by its default."""
    readers = {bool: env.bool, int: env.int, float: env.float, list: env.list}
    return {name: readers[type(default)](f"REALTIME_{name}", default=default) for name, default in DEFAULTS.items()}


def realtime_setting(name: str) -> Any:
    """Return REALTIME[name] from settings, or its documented default."""
    if name not in DEFAULTS:
        raise KeyError(f"Unknown REALTIME setting: {name}")
    return getattr(settings, "REALTIME", {}).get(name, DEFAULTS[name])
