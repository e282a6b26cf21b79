"""
/healthz and /readyz, for load balancers and orchestrators (checks run by django-health-check).

- ``/healthz``: the process is up and its event loop answering; nothing else is
  checked (nor a free request thread), so a database or Redis outage never gets a
  healthy process restarted.
- ``/readyz``: whether this process can serve: ``database`` (a SELECT 1),
  ``migrations`` (none left to apply) and ``channel_layer`` (a message sent to the
  layer and received back). JSON naming each check, 200 when all pass, 503 when one
  fails, with the reason: ``{"status": "fail", "checks": {"database": "ok", …}}``.

Servers get both from HealthProbes, before Django and whatever the Host header: a load
balancer probes a worker by its address, which is rarely in ALLOWED_HOSTS.
"""

import asyncio
import dataclasses
import datetime
import typing

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse
from health_check.base import HealthCheck
from health_check.checks import Database
from health_check.exceptions import ServiceUnavailable
from health_check.views import HealthCheckView

from broadcasting.layer.transport import layer_round_trip


@dataclasses.dataclass
class DatabaseCheck(Database):
    def __repr__(self) -> str:
        return "database"


@dataclasses.dataclass
class MigrationsCheck(HealthCheck):
    """
    No migration left to apply. Loading the migration graph takes tens of
    milliseconds, and /readyz is public, so once every migration is applied this
    process remembers it: a deploy with new migrations is a new process anyway.
    """

    alias: str = DEFAULT_DB_ALIAS
    migrated_aliases: typing.ClassVar[set[str]] = set()

    def run(self) -> None:
        if self.alias in self.migrated_aliases:
            return
        executor = MigrationExecutor(connections[self.alias])
        unapplied = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if unapplied:
            raise ServiceUnavailable(f"{len(unapplied)} migration(s) not applied; run manage.py migrate")
        self.migrated_aliases.add(self.alias)

    def __repr__(self) -> str:
        return "migrations"


@dataclasses.dataclass
class ChannelLayerCheck(HealthCheck):
    timeout = datetime.timedelta(seconds=2)

    async def run(self) -> None:
        try:
            await layer_round_trip(self.timeout.total_seconds())
        except Exception as error:
            raise ServiceUnavailable(f"channel layer round trip failed: {type(error).__name__}") from error

    def __repr__(self) -> str:
        return "channel_layer"


class ReadinessView(HealthCheckView):
    """GET /readyz: the checks above, as JSON; 503 when one fails."""

    checks = (DatabaseCheck, MigrationsCheck, ChannelLayerCheck)

    async def get(self, request: HttpRequest | None, *args, **kwargs) -> JsonResponse:
        with self.get_executor() as executor:
            self.results = await asyncio.gather(*(check.get_result(executor) for check in self.get_checks()))
        failed = any(result.error for result in self.results)
        return JsonResponse(
            {
                "status": "fail" if failed else "ok",
                "checks": {repr(result.check): str(result.error) if result.error else "ok" for result in self.results},
            },
            status=503 if failed else 200,
        )


def healthz(request: HttpRequest) -> JsonResponse:
    """GET /healthz through Django (the test client's view of it; servers get HealthProbes' answer)."""
    return JsonResponse({"status": "ok"})


PROBE_PATHS = ("/healthz", "/readyz")
LIVENESS_BODY = b'{"status": "ok"}'


class HealthProbes:
    """
    ASGI: answers GET /healthz on the event loop itself, before Django, so the probe
    never waits for a request thread (all of them may be waiting on a database lock);
    /readyz runs its checks there too. Neither looks at the Host header. Everything
    else goes to ``app``.
    """

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["path"] not in PROBE_PATHS or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        if scope["path"] == "/healthz":
            status, body = 200, LIVENESS_BODY
        else:
            response = await ReadinessView().get(None)
            status, body = response.status_code, response.content
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})
