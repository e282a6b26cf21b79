"""REST requests the live tests make."""


def auth(token: str, client_id: str | None = None) -> dict[str, str]:
    """The headers of a REST request made with ``token`` (and as ``client_id``'s tab)."""
    headers = {"Authorization": f"Token {token}"}
    if client_id:
        headers["X-Client-ID"] = client_id
    return headers
