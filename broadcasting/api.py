"""
LiveModelViewSet: a DRF ModelViewSet for registered models.

- Writes are atomic: the change, its seq and its queued event commit together or not
  at all, so a failed write sends nothing and leaves nothing half-written.
- List responses carry ``X-Channel-Seq``, the channel's seq read before the snapshot,
  so a client can subscribe with ``?since=<that seq>`` and miss nothing.
"""

from django.db import router, transaction
from rest_framework import viewsets

from .registry import live_models
from .sequence import current_seq

CHANNEL_SEQ_HEADER = "X-Channel-Seq"


class LiveModelViewSet(viewsets.ModelViewSet):
    def _write_alias(self) -> str:
        return router.db_for_write(self.get_queryset().model)

    def create(self, request, *args, **kwargs):
        with transaction.atomic(using=self._write_alias()):
            return super().create(request, *args, **kwargs)

    def update(self, request, *args, **kwargs):
        with transaction.atomic(using=self._write_alias()):
            return super().update(request, *args, **kwargs)

    def destroy(self, request, *args, **kwargs):
        with transaction.atomic(using=self._write_alias()):
            return super().destroy(request, *args, **kwargs)

    def list(self, request, *args, **kwargs):
        live_model = live_models.for_model(self.get_queryset().model)
        seq = current_seq(live_model.channel) if live_model is not None else None
        response = super().list(request, *args, **kwargs)
        if seq is not None:
            response[CHANNEL_SEQ_HEADER] = str(seq)
        return response
