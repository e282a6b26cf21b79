"""WSGI entry point: HTTP only. Use asgi.py (daphne, uvicorn) to serve WebSockets too."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "realtime_site.settings")

application = get_wsgi_application()
