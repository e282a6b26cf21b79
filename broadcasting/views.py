"""GET /ws/stats: socket counts per channel across every server process (the seed's body)."""

from django.http import HttpRequest, JsonResponse

from .presence import presence


async def stats_view(request: HttpRequest) -> JsonResponse:
    return JsonResponse(await presence.stats())
