"""
ClientIdMiddleware: the one place that reads the ``X-Client-ID`` request header.

A REST write that carries it does not echo its own event back to that client's socket.
A malformed value is ignored (the write still happens and broadcasts to everyone).
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from broadcasting.publish.context import acting_client
from broadcasting.wire.client_ids import is_valid_client_id

CLIENT_ID_HEADER = "X-Client-ID"


class ClientIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        client_id = request.headers.get(CLIENT_ID_HEADER)
        if not is_valid_client_id(client_id):
            client_id = None
        # request.user is read when an event is made: by then DRF has put its token or
        # session user there.
        with acting_client(client_id, lambda: getattr(request, "user", None)):
            return self.get_response(request)
