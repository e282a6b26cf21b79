"""
A write that could not get a lock in time, or that found the database gone (restarting,
failing over), is answered 503 with Retry-After, not 500.

A row held by a long transaction (a channel's seq row during a large cascade delete, an
object being edited) makes other writers wait; DATABASE_LOCK_TIMEOUT_SECS bounds the
wait on PostgreSQL, and broadcasting/log/sequence.py keeps most of a process's request
threads from waiting on one channel. The write rolled back and sent nothing; the client
may retry. A request the middleware sees only through DRF's re-raise gets the same.
A database that does not answer at all is an outage, not a bug: one log line each, and
the next request opens a new connection (CONN_HEALTH_CHECKS drops the broken one).
"""

import logging
import math

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, JsonResponse

from broadcasting.runtime.error_text import first_line

logger = logging.getLogger(__name__)

# SQLSTATE 55P03 lock_not_available: PostgreSQL's lock_timeout ran out.
LOCK_NOT_AVAILABLE = "55P03"


def is_lock_timeout(error: BaseException) -> bool:
    """Whether ``error`` is the database giving up on a lock (PostgreSQL's lock_timeout, SQLite's busy timeout)."""
    if not isinstance(error, OperationalError):
        return False
    cause = error.__cause__
    if getattr(cause, "sqlstate", None) == LOCK_NOT_AVAILABLE:
        return True
    return "database is locked" in str(error)


# SQLSTATE classes and codes of a database that is not there: connection exceptions (08),
# admin_shutdown, crash_shutdown, cannot_connect_now (57P01-3).
UNAVAILABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03")
UNAVAILABLE_RETRY_AFTER_SECS = 2


def is_database_unavailable(error: BaseException) -> bool:
    """Whether ``error`` is the database not answering: down, restarting, or the connection cut."""
    if isinstance(error, InterfaceError):
        return True  # a connection already closed under us
    if not isinstance(error, OperationalError) or is_lock_timeout(error):
        return False
    sqlstate = getattr(error.__cause__, "sqlstate", None)
    if sqlstate is None:
        # psycopg reports a refused or lost connection without a SQLSTATE; SQLite's errors have none either.
        return type(error.__cause__).__module__.startswith("psycopg")
    return sqlstate.startswith(UNAVAILABLE_SQLSTATES)


def retry_later(detail: str, retry_after_secs: int) -> JsonResponse:
    """503 with Retry-After, already logged by the middleware (django.request adds no line of its own)."""
    response = JsonResponse({"detail": detail}, status=503)
    response["Retry-After"] = str(retry_after_secs)
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def unavailable_response() -> JsonResponse:
    return retry_later("The database is unavailable for a moment; retry shortly.", UNAVAILABLE_RETRY_AFTER_SECS)


def busy_response() -> JsonResponse:
    return retry_later(
        "The database is busy with another write to the same data; retry shortly.",
        max(1, math.ceil(settings.DATABASE_LOCK_TIMEOUT_SECS)),
    )


class DatabaseBusyMiddleware:
    """Turns a lock timeout, or the database gone, raised by a view into 503 with Retry-After (one log line)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception):
        if is_lock_timeout(exception):
            logger.warning("Lock timeout on %s %s: answered 503.", request.method, request.path)
            return busy_response()
        if is_database_unavailable(exception):
            logger.warning(
                "Database unavailable on %s %s (%s): answered 503.", request.method, request.path, first_line(exception)
            )
            return unavailable_response()
        return None
