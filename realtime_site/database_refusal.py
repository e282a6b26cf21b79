"""
Why ``make serve`` cannot use the database, in one line naming the setting to fix.

A server that starts on a database it cannot reach would fail every request with a
traceback in the log; the operator needs one sentence instead: which setting, and
what to do about it (docs/deploy.md walks through creating the database).
"""

import re

from django.db import OperationalError, connections

from broadcasting.runtime.error_text import first_line

CONNECT_TIMEOUT_SECS = 5


def database_refusal(alias: str = "default") -> str | None:
    """None when a connection opens; else what is wrong with DATABASE_URL."""
    configured = connections[alias]
    settings_dict = dict(configured.settings_dict)
    if configured.vendor == "postgresql":
        # A bounded wait for this probe alone: the server's own connections keep the configured options.
        settings_dict["OPTIONS"] = {"connect_timeout": CONNECT_TIMEOUT_SECS, **settings_dict.get("OPTIONS", {})}
    probe = type(configured)(settings_dict, alias)
    try:
        probe.ensure_connection()
    except OperationalError as error:
        return describe(error, settings_dict, configured.vendor)
    finally:
        probe.close()
    return None


def describe(error: Exception, settings: dict, vendor: str) -> str:
    """The refusal for a connection that failed with ``error``."""
    message = str(error).strip()
    name, user = settings.get("NAME") or "", settings.get("USER") or ""
    where = f"{settings.get('HOST') or 'localhost'}:{settings.get('PORT') or 5432}"
    if vendor == "sqlite":
        return (
            f"DATABASE_URL: SQLite cannot open {name} ({message}); "
            "the directory must exist and be writable by this user."
        )
    if re.search(r'database "[^"]*" does not exist', message):
        return (
            f'DATABASE_URL names the database "{name}", which does not exist on {where}. '
            f"Create it (createdb -h {where.split(':')[0]} -U {user or 'postgres'} {name}), then start again."
        )
    if "password authentication failed" in message or "no password supplied" in message:
        return f'DATABASE_URL: PostgreSQL at {where} refused the password of user "{user}"; fix the password.'
    if re.search(r'role "[^"]*" does not exist', message):
        return f'DATABASE_URL names the user "{user}", which does not exist on {where}; create it or fix the URL.'
    if any(text in message for text in ("Connection refused", "could not translate host", "timeout expired")):
        return f"DATABASE_URL: no PostgreSQL answers at {where}; start it, or fix the host and port in DATABASE_URL."
    return f"DATABASE_URL: the database at {where} refused the connection: {first_line(error)}"
