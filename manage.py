#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "realtime_site.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as error:
        # A setting the environment must give (DJANGO_SECRET_KEY with DEBUG off): one
        # line that says what to do, not a traceback through Django's start-up.
        sys.exit(f"manage.py: {error}")


if __name__ == "__main__":
    main()
