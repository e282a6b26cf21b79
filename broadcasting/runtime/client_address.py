"""
The address a request or socket comes from, the one rule every limit keys on.

Behind N reverse proxies the client's address is the N-th entry from the right of
``X-Forwarded-For`` (the entries to its left are whatever the client wrote); with no
proxy it is the peer address and the header is ignored. N is DRF's ``NUM_PROXIES``
(env ``NUM_PROXIES``, default 0), so DRF's throttles, django-axes' login lockouts and
the socket limits (sockets/limits.py) all count the same address, and none of them
trusts a header a client can forge.
"""

from types import SimpleNamespace

from rest_framework.throttling import BaseThrottle

from broadcasting.runtime.client_text import scope_header


def for_request(request) -> str:
    """The client address of an HTTP request (DRF's own rule; django-axes calls this)."""
    return BaseThrottle().get_ident(request)


def for_scope(scope: dict) -> str:
    """The client address of a socket's handshake, by the same DRF rule, read from its scope."""
    peer = scope.get("client")
    forwarded_for = scope_header(scope, b"x-forwarded-for")
    handshake = SimpleNamespace(
        META={"REMOTE_ADDR": peer[0] if peer else ""},
        headers={"x-forwarded-for": forwarded_for} if forwarded_for is not None else {},
    )
    return for_request(handshake)
