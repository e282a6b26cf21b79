"""
Live model events for Django: every committed change of a registered model, pushed to
WebSocket subscribers of its channel. See registry.py to make a model live and
publisher.py for the broadcast_* API.
"""

from .context import no_broadcast

__all__ = ["no_broadcast"]
