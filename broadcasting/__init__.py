"""
Live model events for Django: every committed change of a registered model, pushed to
the WebSocket subscribers of its channel. This module is the public API; everything
else in the package may change between versions::

    from broadcasting import LiveModelViewSet, LiveQuerySet, live_models, no_broadcast
    from broadcasting import broadcast_created, broadcast_custom, broadcast_to_all_channels

The package reads along an event's path: ``live/`` (what is live and who may read it),
``publish/`` (from a write to a committed event), ``log/`` (the ordered record),
``layer/`` (between processes), ``delivery/`` (from a process to its sockets),
``sockets/`` (the socket's edge), ``presence/``, with ``wire/`` (what goes over a socket)
and ``runtime/`` (plumbing) under them all. ``make lint`` checks that imports follow it.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

# Public name -> the module that defines it. Imported on first use: models.py files
# import from here while Django is still loading apps.
_PUBLIC = {
    "live_models": "broadcasting.live.registry",
    "LiveModel": "broadcasting.live.registry",
    "LiveModelPermission": "broadcasting.viewsets",
    "LiveModelViewSet": "broadcasting.viewsets",
    "LivePagination": "broadcasting.viewsets",
    "live_router": "broadcasting.viewsets",
    "LiveQuerySet": "broadcasting.publish.querysets",
    "no_broadcast": "broadcasting.publish.context",
    "broadcast_created": "broadcasting.publish.publisher",
    "broadcast_updated": "broadcasting.publish.publisher",
    "broadcast_deleted": "broadcasting.publish.publisher",
    "broadcast_custom": "broadcasting.publish.publisher",
    "broadcast_to_all_channels": "broadcasting.publish.publisher",
}

__all__ = [
    "LiveModel",
    "LiveModelPermission",
    "LiveModelViewSet",
    "LivePagination",
    "LiveQuerySet",
    "broadcast_created",
    "broadcast_custom",
    "broadcast_deleted",
    "broadcast_to_all_channels",
    "broadcast_updated",
    "live_models",
    "live_router",
    "no_broadcast",
]

if TYPE_CHECKING:
    from broadcasting.live.registry import LiveModel, live_models
    from broadcasting.publish.context import no_broadcast
    from broadcasting.publish.publisher import (
        broadcast_created,
        broadcast_custom,
        broadcast_deleted,
        broadcast_to_all_channels,
        broadcast_updated,
    )
    from broadcasting.publish.querysets import LiveQuerySet
    from broadcasting.viewsets import LiveModelPermission, LiveModelViewSet, LivePagination, live_router


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'broadcasting' has no attribute {name!r}")
    value = getattr(import_module(_PUBLIC[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
