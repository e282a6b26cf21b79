"""
ASGI entry point: HTTP through Django (http_handler.py: the middleware chain and view in one
thread hop), WebSockets through the broadcasting app.

Serve with `manage.py runserver` (daphne, one process) or `daphne realtime_site.asgi:application`.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "realtime_site.settings")

from realtime_site.http_handler import get_one_thread_asgi_application

# Django must be set up before anything imports models.
django_asgi_app = get_one_thread_asgi_application()

from channels.routing import ProtocolTypeRouter  # noqa: E402

from broadcasting.sockets.routing import websocket_application  # noqa: E402
from realtime_site.health import HealthProbes  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": HealthProbes(django_asgi_app),
        "websocket": websocket_application,
    }
)
