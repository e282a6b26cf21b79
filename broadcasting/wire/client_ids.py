"""
Client ids: the name a tab gives its sockets and its writes (``X-Client-ID``), and the
key an event's ``exclude_client`` holds for one, shared by the writer and the sockets.
"""

import re

CLIENT_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def is_valid_client_id(value: str | None) -> bool:
    return value is not None and CLIENT_ID_RE.match(value) is not None


def client_key(user_pk: object, client_id: str) -> str:
    """The ``exclude_client`` key of ``client_id`` of the user ``user_pk``: only that user's sockets match it."""
    return f"{user_pk}:{client_id}"


def own_keys(client_id: str, user_pk: object) -> frozenset[str]:
    """
    The exclude_client values that mark an event as a socket's own write: its client id
    under its user (REST writes), and the bare client id, which only server code can name.
    """
    if user_pk is None:
        return frozenset((client_id,))
    return frozenset((client_id, client_key(user_pk, client_id)))
