"""GET /ws/stats: socket counts per channel across every server process (the FastAPI guide's body)."""

from django.http import HttpRequest, JsonResponse

from broadcasting.presence.counts import socket_counts


async def stats_view(request: HttpRequest) -> JsonResponse:
    return JsonResponse(await socket_counts.stats())
