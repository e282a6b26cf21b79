"""
A write that could not get a lock in time is answered 503 with Retry-After, not 500.

A row held by a long transaction (a channel's seq row during a large cascade delete, an
object being edited) makes other writers wait; DATABASE_LOCK_TIMEOUT_SECS bounds the
wait on PostgreSQL, and broadcasting/log/sequence.py keeps most of a process's request
threads from waiting on one channel. The write rolled back and sent nothing; the client
may retry. A request the middleware sees only through DRF's re-raise gets the same.
"""

import logging
import math

from django.conf import settings
from django.db import OperationalError
from django.http import HttpRequest, JsonResponse

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


def busy_response() -> JsonResponse:
    retry_after = max(1, math.ceil(settings.DATABASE_LOCK_TIMEOUT_SECS))
    response = JsonResponse(
        {"detail": "The database is busy with another write to the same data; retry shortly."}, status=503
    )
    response["Retry-After"] = str(retry_after)
    return response


class DatabaseBusyMiddleware:
    """Turns a lock timeout raised by a view into 503 with Retry-After (one log line, no traceback)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception):
        if not is_lock_timeout(exception):
            return None
        logger.warning("Lock timeout on %s %s: answered 503.", request.method, request.path)
        return busy_response()
