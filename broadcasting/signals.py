"""
post_save / post_delete of every registered model → the publisher's on-commit queue.

Connected once in BroadcastingConfig.ready(), for all senders: the registry, not the
connection, decides which models are live, so a model registered later needs no edit
here. Saves made with ``no_broadcast()``, raw saves (loaddata) and saves whose
``update_fields`` touch nothing the serializer shows (a login's last_login) send nothing.
"""

from django.db import models
from django.db.models.signals import post_delete, post_save

from . import publisher
from .context import broadcasting_suppressed, current_client_id
from .registry import live_models


def connect_model_signals() -> None:
    post_save.connect(on_post_save, dispatch_uid="broadcasting.on_post_save")
    post_delete.connect(on_post_delete, dispatch_uid="broadcasting.on_post_delete")


def on_post_save(
    sender: type[models.Model],
    instance: models.Model,
    created: bool,
    raw: bool = False,
    using: str = "default",
    update_fields: frozenset[str] | None = None,
    **kwargs,
) -> None:
    """Called after every model save; queues the event of a registered model's change."""
    live_model = live_models.for_model(sender)
    if live_model is None or raw or broadcasting_suppressed():
        return
    if update_fields is not None and not (set(update_fields) & live_model.shown_fields):
        return
    broadcast = publisher.broadcast_created if created else publisher.broadcast_updated
    broadcast(instance, exclude_client=current_client_id(), using=using)


def on_post_delete(sender: type[models.Model], instance: models.Model, using: str = "default", **kwargs) -> None:
    """Called after every model delete (bulk deletes and cascades included)."""
    if live_models.for_model(sender) is None or broadcasting_suppressed():
        return
    publisher.broadcast_deleted(instance, exclude_client=current_client_id(), using=using)
