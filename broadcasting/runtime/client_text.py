"""
What a client sent, read safely: a socket handshake's headers, and a request or
socket path as a log line may show it.
"""

from urllib.parse import quote

# Longest path a log line shows; the rest is cut (a URL can be tens of kilobytes).
MAX_LOGGED_PATH_CHARS = 300


def scope_header(scope: dict, name: bytes) -> str | None:
    """The value of header ``name`` (lowercase bytes, as ASGI gives names) of the handshake, or None."""
    for header_name, value in scope.get("headers", []):
        if header_name == name:
            return value.decode("latin1")
    return None


def printable_path(path: str) -> str:
    """
    ``path`` fit for a log line: control characters, spaces and non-ASCII percent-encoded
    again (a decoded ``%0A`` would otherwise forge a line of its own) and cut to
    MAX_LOGGED_PATH_CHARS.
    """
    printable = quote(path, safe="/!$&'()*+,;=:@-._~%")
    if len(printable) > MAX_LOGGED_PATH_CHARS:
        return printable[:MAX_LOGGED_PATH_CHARS] + "…"
    return printable
