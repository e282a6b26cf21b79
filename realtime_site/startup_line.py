"""
The one line each ``make serve`` worker prints as it starts: where it listens and on
what, so an operator sees the address, the worker count, the database and the channel
layer without reading the settings (no password is ever printed).
"""

from django.conf import settings
from django.db import connections


def startup_line(host: str, port: int, number: int, workers: int) -> str:
    shown_host = f"[{host}]" if ":" in host else host
    return (
        f"worker {number + 1} of {workers} listening on http://{shown_host}:{port}; "
        f"database {database_description()}; channel layer {layer_description()}"
    )


def database_description(alias: str = "default") -> str:
    connection = connections[alias]
    name = connection.settings_dict.get("NAME") or ""
    if connection.vendor == "sqlite":
        return f"SQLite ({name})"
    host = connection.settings_dict.get("HOST") or "localhost"
    port = connection.settings_dict.get("PORT") or ""
    return f"{connection.display_name} ({name} on {host}{':' if port else ''}{port})"


def layer_description() -> str:
    if not settings.REDIS_URL:
        return "in memory (this process's sockets only)"
    return settings.REDIS.describe()
