"""
RequestLogMiddleware: one log line per HTTP request, whatever server runs the site.

``realtime.requests`` gets ``GET /api/posts/ 200 12.3ms user=7`` with the same fields
as structured extras (method, path, status, duration_ms, user_id), so
``LOG_FORMAT=json`` gives one JSON object per request. Paths are logged percent-encoded
and cut short (handshake.printable_path), so no URL can forge a log line. Probes and scrapes (/healthz,
/readyz, /metrics) are logged at DEBUG so they do not drown the rest. The servers' own
access logs are off (daphne's at WARNING, uvicorn's disabled), so each request is
logged once. A request Django refuses as suspicious (a Host not in ALLOWED_HOSTS, say)
is that same one line at WARNING, with the reason, not a traceback (RefusalIntoRequestLine).
"""

import logging
import time
from collections.abc import Callable

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse

from broadcasting.runtime.client_text import printable_path

logger = logging.getLogger("realtime.requests")

QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


class RequestLogMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        duration_ms = round((time.perf_counter() - started) * 1000, 1)
        try:
            user = getattr(request, "user", None)
            user_id = user.pk if user is not None and user.is_authenticated else None
        except DatabaseError:  # a session user that could not be loaded: the database is down
            user_id = None
        level = logging.DEBUG if request.path in QUIET_PATHS else logging.INFO
        path = printable_path(request.path)
        fields = {
            "method": request.method,
            "path": path,
            "status": response.status_code,
            "duration_ms": duration_ms,
            "user_id": user_id,
        }
        refused = getattr(request, REFUSAL_ATTRIBUTE, None)
        if refused is None:
            logger.log(level, "%s %s %s %.1fms user=%s", *fields.values(), extra=fields)
        else:
            fields["refused"] = refused
            logger.warning("%s %s %s %.1fms user=%s refused: %s", *fields.values(), extra=fields)
        return response


REFUSAL_ATTRIBUTE = "_refused_as_suspicious"


class RefusalIntoRequestLine(logging.Filter):
    """
    Django logs a suspicious request (a bad Host header, for one) on ``django.security.*``
    at ERROR with its traceback; the reason goes on the request's own log line instead.
    A record with no request passes, as a warning without traceback. Other records pass.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith("django.security."):
            return True
        request = getattr(record, "request", None)
        # The Host header is the client's text: escaped, so it cannot forge a line.
        message = record.getMessage().encode("unicode_escape").decode("ascii")
        if isinstance(request, HttpRequest):
            setattr(request, REFUSAL_ATTRIBUTE, message)
            return False
        record.exc_info, record.exc_text, record.levelno, record.levelname = None, None, logging.WARNING, "WARNING"
        return True
