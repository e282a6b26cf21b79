"""
RequestLogMiddleware: one log line per HTTP request, whatever server runs the site.

``realtime.requests`` gets ``GET /api/posts/ 200 12.3ms user=7`` with the same fields
as structured extras (method, path, status, duration_ms, user_id), so
``LOG_FORMAT=json`` gives one JSON object per request. Paths are logged percent-encoded
and cut short (handshake.printable_path), so no URL can forge a log line. Probes and scrapes (/healthz,
/readyz, /metrics) are logged at DEBUG so they do not drown the rest. The servers' own
access logs are off (daphne's at WARNING, uvicorn's disabled), so each request is
logged once.
"""

import logging
import time
from collections.abc import Callable

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
        user = getattr(request, "user", None)
        user_id = user.pk if user is not None and user.is_authenticated else None
        level = logging.DEBUG if request.path in QUIET_PATHS else logging.INFO
        path = printable_path(request.path)
        logger.log(
            level,
            "%s %s %s %.1fms user=%s",
            request.method,
            path,
            response.status_code,
            duration_ms,
            user_id,
            extra={
                "method": request.method,
                "path": path,
                "status": response.status_code,
                "duration_ms": duration_ms,
                "user_id": user_id,
            },
        )
        return response
