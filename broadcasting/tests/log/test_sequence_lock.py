"""
One held seq row never takes the whole server (log/sequence.py, realtime_site/busy.py), on a real
`make serve` over PostgreSQL: with a transaction holding the posts channel's row and 16 writers
queued on it, health, reads and other channels' writes stayed stuck for the hold's length.
"""

import asyncio
import time

import httpx
import psycopg
import pytest

from broadcasting.models import ChannelSequence
from testing.wait import wait_until

pytestmark = [pytest.mark.live_server, pytest.mark.postgres, pytest.mark.security]

LOCK_TIMEOUT_SECS = 2.0


async def timed(request) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    response = await request
    return response, time.perf_counter() - started


async def test_a_held_seq_row_stalls_neither_probes_reads_nor_other_channels(live_stack):
    stack = live_stack(database="postgres", DATABASE_LOCK_TIMEOUT_SECS=str(LOCK_TIMEOUT_SECS))
    token = stack.create_user("writer@example.com")
    server = stack.start_server("serve")
    headers = {"Authorization": f"Token {token}"}
    async with httpx.AsyncClient(base_url=server.http_url, headers=headers, timeout=30) as api:
        assert (await api.post("/api/posts/", json={"title": "first", "published": True})).status_code == 201
        me = (await api.get("/api/users/", params={"search": "writer"})).json()["results"][0]["id"]
        table = ChannelSequence._meta.db_table
        with psycopg.connect(stack.env["DATABASE_URL"]) as holder:  # a shell's long transaction
            holder.execute(f"UPDATE {table} SET last_seq = last_seq WHERE channel = 'posts'")
            writers = [
                asyncio.create_task(timed(api.post("/api/posts/", json={"title": f"queued {n}"}))) for n in range(16)
            ]
            # The writers are in: two waiting on the row, the others refused.
            await wait_until(lambda: sum(writer.done() for writer in writers) >= len(writers) - 2, timeout=10)
            others = await asyncio.gather(
                timed(api.get("/healthz")),
                timed(api.get("/api/posts/")),
                timed(api.patch(f"/api/users/{me}/", json={"name": "Other channel"})),
                timed(api.get("/readyz")),
            )
            queued = await asyncio.gather(*writers)
            holder.rollback()

        for response, secs in others:
            assert response.status_code == 200, response.text
            assert secs < 0.3, (response.request.url, secs)
        for response, secs in queued:
            assert response.status_code == 503, response.text
            assert response.headers["Retry-After"] == "2"
            # A waiter queued behind another waits for the row's tuple lock, then for the
            # holder's transaction: lock_timeout bounds each of the two waits.
            assert secs < 2 * LOCK_TIMEOUT_SECS + 1, repr(sorted(round(s, 2) for _, s in queued))
        # The row is free again: writes go through, and none of the refused ones had committed.
        assert (await api.post("/api/posts/", json={"title": "after"})).status_code == 201
        titles = [post["title"] for post in (await api.get("/api/posts/")).json()["results"]]
        assert sorted(titles) == ["after", "first"]
    assert "Traceback" not in server.log()
