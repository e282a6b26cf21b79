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
- Writes are safe by default, from the same registration (LiveModelPermission): a
  write needs a signed-in user (and so does a read, where the registration's
  ``requires_auth`` refuses anonymous sockets); a new object's owner is the user who creates it; only
  its owner or staff change or delete it (staff alone, for a model with no owner); and
  the fields that decide who reads it (the owner, ``public_when``'s) are read-only but
  for staff, unless the registration's ``owner_may_change`` names them. Lists come
  newest first unless the queryset is ordered. Each is the usual DRF hook to override.
"""

from django.db import connections, router, transaction
from rest_framework import pagination, permissions, routers, viewsets

from broadcasting.live.registry import LiveModel, live_models
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

    def get_paginated_response_schema(self, schema: dict) -> dict:
        """DRF's, in JSON Schema (OpenAPI 3.1): ``next`` and ``previous`` are null on the last and first page."""
        described = super().get_paginated_response_schema(schema)
        for link in ("next", "previous"):
            field = described["properties"][link]
            field.pop("nullable", None)
            field["type"] = ["string", "null"]
        described["required"] = ["count", "next", "previous", "results"]
        return described


class LiveModelPermission(permissions.BasePermission):
    """Anyone reads what the visibility lets them; signed-in users write; owners and staff change an object."""

    def has_permission(self, request, view) -> bool:
        signed_in = bool(request.user and request.user.is_authenticated)
        if request.method in permissions.SAFE_METHODS:
            live_model = view._live_model() if isinstance(view, LiveModelViewSet) else None
            return signed_in or not (live_model is not None and live_model.requires_auth)  # as its sockets
        return signed_in

    def has_object_permission(self, request, view, obj) -> bool:
        if request.method in permissions.SAFE_METHODS or request.user.is_staff:
            return True
        live_model = live_models.for_model(type(obj))
        owner_pk = live_model.owner(obj) if live_model is not None else None
        return owner_pk is not None and owner_pk == request.user.pk


class LiveModelViewSet(viewsets.ModelViewSet):
    pagination_class = LivePagination
    permission_classes = [LiveModelPermission]

    def _live_model(self) -> LiveModel | None:
        model = getattr(getattr(self, "queryset", None), "model", None)
        return live_models.for_model(model) if model is not None else None

    def get_serializer_class(self):
        """The viewset's serializer_class, else the registration's (named or derived): one for REST and sockets."""
        if self.serializer_class is None and (live_model := self._live_model()) is not None:
            return live_model.serializer_class
        return super().get_serializer_class()

    def get_queryset(self):
        """The queryset, newest first unless it is ordered (a page of an unordered list is arbitrary)."""
        queryset = super().get_queryset()
        return queryset if queryset.ordered else queryset.order_by("-pk")

    def get_serializer(self, *args, **kwargs):
        """The serializer, with the registration's protected fields read-only for anyone but staff."""
        serializer = super().get_serializer(*args, **kwargs)
        live_model = self._live_model()
        user = getattr(self.request, "user", None)
        if live_model is not None and not (user is not None and user.is_staff):
            fields = getattr(serializer, "fields", {})
            for name in live_model.protected_fields:
                if name in fields:
                    fields[name].read_only = True
        return serializer

    def perform_create(self, serializer) -> None:
        """Save a new object; a model with an owner field is owned by the user who creates it."""
        owner_field = live_model.visibility.owner_field if (live_model := self._live_model()) else None
        if owner_field not in (None, "pk"):
            serializer.save(**{owner_field: self.request.user})
        else:
            serializer.save()

    @property
    def filterset_class(self):
        """The FilterSet registered for the live model (its sockets take the same filters)."""
        live_model = self._live_model()
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


class LiveRouter(routers.DefaultRouter):
    """
    The REST API of every live model registered with a ``viewset``, at
    ``/api/<channel>/``: the project includes ``live_router.urls`` once, and a new live
    model needs no edit of the URLconf.
    """

    def get_urls(self):
        self.registry = []
        for live_model in live_models:
            viewset = live_model.viewset
            if viewset is False or viewset is None:
                continue
            if viewset is True:
                viewset = type(
                    f"{live_model.model.__name__}ViewSet",
                    (LiveModelViewSet,),
                    {"queryset": live_model.model._default_manager.all(), "__module__": __name__},
                )
            self.register(live_model.channel, viewset, basename=live_model.model._meta.model_name)
        return super().get_urls()


live_router = LiveRouter()
