"""REST requests the live tests make."""

import asyncio
from typing import Any

import httpx


def auth(token: str, client_id: str | None = None) -> dict[str, str]:
    """The headers of a REST request made with ``token`` (and as ``client_id``'s tab)."""
    headers = {"Authorization": f"Token {token}"}
    if client_id:
        headers["X-Client-ID"] = client_id
    return headers


# How often a write answered 503 (the database busy: Retry-After) is tried again.
BUSY_RETRIES = 20


async def until_not_busy(api: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """
    Make a write as a well-behaved client does: a 503 means the database was busy and
    nothing was written, so wait its Retry-After (at most a second here) and try again.
    """
    for _ in range(BUSY_RETRIES):
        response = await api.request(method, url, **kwargs)
        if response.status_code != 503:
            return response
        await asyncio.sleep(min(float(response.headers.get("Retry-After", "1")), 1.0))
    return response


async def total_connections_are(api: httpx.AsyncClient, count: int) -> bool:
    """Whether /ws/stats counts ``count`` sockets: another process's joins reach it within SHARED_WRITE_DELAY_SECS."""
    return (await api.get("/ws/stats")).json()["total_connections"] == count
