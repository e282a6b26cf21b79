"""
The REALTIME settings block, read through one accessor so every default lives here.
"""

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    "BROADCAST": True,
    "ALLOWED_ORIGINS": [],
    "PUBLISH_TIMEOUT_SECS": 1.0,
    "PUBLISH_RETRY_SECS": 5.0,
    "SENDER_QUEUE_EVENTS": 10000,
    "PRESENCE_REFRESH_SECS": 10.0,
    "PRESENCE_TTL_SECS": 30.0,
    "HISTORY_RETENTION_SECS": 86400,
    "HISTORY_MAX_EVENTS": 10000,
    "PRUNE_EVERY_EVENTS": 100,
    "SEQ_CHECK_INTERVAL_SECS": 2.0,
    "IDLE_SYNC_SECS": 20.0,
    "CLIENT_FRAMES_PER_SEC": 10.0,
    "CLIENT_FRAME_BURST": 30,
    "MAX_FRAME_BYTES": 256 * 1024,
    "OUTBOX_MAX_BYTES": 4 * 1024 * 1024,
    "SEND_TIMEOUT_SECS": 10.0,
    "REPLAY_PAGE_EVENTS": 50,
    "MAX_SOCKETS_PER_ADDRESS": 1000,
    "MAX_SOCKETS_PER_USER": 100,
    "CONNECTS_PER_ADDRESS_PER_MIN": 300,
    "SERVER_PROCESSES": 1,
}


def realtime_setting(name: str) -> Any:
    """Return REALTIME[name] from settings, or its documented default."""
    if name not in DEFAULTS:
        raise KeyError(f"Unknown REALTIME setting: {name}")
    return getattr(settings, "REALTIME", {}).get(name, DEFAULTS[name])
