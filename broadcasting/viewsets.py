"""
LiveModelViewSet: a DRF ModelViewSet for registered models.

- Writes are atomic: the change, its seq, its history row and its queued event commit
  together or not at all, so a failed write sends nothing and leaves nothing
  half-written.
- List responses carry ``X-Channel-Seq`` and ``X-Channel-Epoch``, read in the same
  database snapshot as the list itself (REPEATABLE READ on PostgreSQL; SQLite's
  transactions are serializable). A client that subscribes with
  ``?since=<X-Channel-Seq>&epoch=<X-Channel-Epoch>`` gets exactly the changes the list
  does not hold yet: nothing missed, nothing applied twice.
- Lists and detail views show only what the request's user may read, by the model's
  registered visibility (live/visibility.py): the same rule its sockets follow, so a
  viewset's ``queryset`` may be ``objects.all()`` and still never serve over REST what
  the sockets hide.
"""

from django.db import connections, router, transaction
from rest_framework import pagination, viewsets

from broadcasting.live.registry import live_models
from broadcasting.log.sequence import channel_position, current_seq

CHANNEL_SEQ_HEADER = "X-Channel-Seq"
CHANNEL_EPOCH_HEADER = "X-Channel-Epoch"


def _begin_snapshot(alias: str, outermost: bool) -> None:
    """
    Make a new transaction read one snapshot throughout (this must be its first
    statement). Inside a transaction opened by the caller, the caller's isolation holds.
    """
    if outermost and connections[alias].vendor == "postgresql":
        with connections[alias].cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")


class LivePagination(pagination.PageNumberPagination):
    """Pages with ``?page_size=`` (up to 1000), so a client can load a live list in one snapshot."""

    page_size_query_param = "page_size"
    max_page_size = 1000


class LiveModelViewSet(viewsets.ModelViewSet):
    pagination_class = LivePagination

    @property
    def filterset_class(self):
        """The FilterSet registered for the live model (its sockets take the same filters)."""
        live_model = live_models.for_model(self.queryset.model) if self.queryset is not None else None
        return live_model.filterset if live_model is not None else None

    def filter_queryset(self, queryset):
        """DRF's filters, then the live model's visibility for this user (lists and get_object alike)."""
        queryset = super().filter_queryset(queryset)
        live_model = live_models.for_model(queryset.model)
        if live_model is None:
            return queryset
        return live_model.visibility.readable_by(queryset, self.request.user)

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
        if live_model is None:
            return super().list(request, *args, **kwargs)
        alias = router.db_for_read(live_model.model)
        _, epoch = channel_position(live_model.channel, alias)  # creates the counter row once
        outermost = not connections[alias].in_atomic_block
        with transaction.atomic(using=alias):
            _begin_snapshot(alias, outermost)
            seq = current_seq(live_model.channel, alias)
            response = super().list(request, *args, **kwargs)
        response[CHANNEL_SEQ_HEADER] = str(seq)
        response[CHANNEL_EPOCH_HEADER] = epoch
        return response
