"""Reading a socket handshake's ASGI scope: its headers, as the middlewares and limits need them."""


def scope_header(scope: dict, name: bytes) -> str | None:
    """The value of header ``name`` (lowercase bytes, as ASGI gives names) of the handshake, or None."""
    for header_name, value in scope.get("headers", []):
        if header_name == name:
            return value.decode("latin1")
    return None
