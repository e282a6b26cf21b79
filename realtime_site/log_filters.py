"""
Outages are news, not bugs: a log line each, without the traceback libraries attach.

django-health-check logs a failed readiness check with its traceback, channels-redis a
lost connection of its receive task; each is one line here (the message names the
error), so an operator reads what happened and a real traceback still stands out.
"""

import logging

# Loggers (and their children) whose records are outages of a service, not errors of the code.
OUTAGE_LOGGERS = ("health_check", "channels_redis")


class OutageWithoutTraceback(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if any(record.name == name or record.name.startswith(f"{name}.") for name in OUTAGE_LOGGERS):
            if record.exc_info and record.exc_info[1] is not None:
                error = record.exc_info[1]
                record.msg = f"{record.msg} ({type(error).__name__}: {error})"
            record.exc_info, record.exc_text = None, None
        return True
