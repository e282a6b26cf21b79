"""
The address a request or socket comes from, the one rule every limit keys on.

Behind N reverse proxies the client's address is the N-th entry from the right of
``X-Forwarded-For`` (the entries to its left are whatever the client wrote); with no
proxy it is the peer address and the header is ignored. N is DRF's ``NUM_PROXIES``
(env ``NUM_PROXIES``, default 0), so DRF's throttles, django-axes' login lockouts and
the socket limits (socket_limits.py) all count the same address, and none of them
trusts a header a client can forge.
"""

from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle


def client_address(remote_addr: str | None, forwarded_for: str | None) -> str:
    num_proxies = api_settings.NUM_PROXIES or 0
    if num_proxies == 0 or not forwarded_for:
        return remote_addr or ""
    addresses = forwarded_for.split(",")
    return addresses[-min(num_proxies, len(addresses))].strip()


def for_request(request) -> str:
    """The client address of an HTTP request (DRF's own rule; django-axes calls this)."""
    return BaseThrottle().get_ident(request)


def for_scope(scope: dict) -> str:
    """The client address of a socket's handshake."""
    forwarded_for = None
    for name, value in scope.get("headers", []):
        if name == b"x-forwarded-for":
            forwarded_for = value.decode("latin1")
    peer = scope.get("client")
    return client_address(peer[0] if peer else None, forwarded_for)
