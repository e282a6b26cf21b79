"""
pre_save / post_save / post_delete of each registered model → the publisher's
on-commit queue, and every save of a registered model inside a transaction.

Django sends post_save after the row is written, and a save made outside a
transaction (a DRF view without ATOMIC_REQUESTS, a shell, a script) has committed its
row by then: the event's seq and history row would go in a second transaction, and a
crash in between would leave a change no live client ever hears of. So registration
wraps the model's ``save_base`` in ``transaction.atomic`` when no transaction is open:
the row, its seq and its history row commit together or not at all, on every path.
Deletes need nothing (Django's deletion collector already sends post_delete inside its
transaction), and LiveQuerySet's bulk methods open their own.

Receivers are connected per registered model (through the registry's on_register
hook), so a model registered later needs no edit here and other models keep Django's
fast paths. Saves made with ``no_broadcast()``, raw saves (loaddata) and saves whose
``update_fields`` touch nothing the serializer shows (a login's last_login) send
nothing. pre_save remembers who could see the object before the change, so a change
that moves it out of someone's view reaches them as ``deleted`` (and into view as
``created``).
"""

import functools
from collections.abc import Callable
from typing import Any

from django.db import models, router, transaction
from django.db.models.signals import post_delete, post_save, pre_delete, pre_save

from broadcasting.live.registry import LiveModel, live_models
from broadcasting.publish import commit_queue, publisher
from broadcasting.publish.context import broadcasting_suppressed, current_writer_key

# Where pre_save leaves the object's state before the save, for post_save to read.
PREVIOUS_STATE_ATTR = "_broadcasting_previous_state"
# Django's deletion collector sends every pre_delete of a delete before its first
# post_delete. pre_delete gathers the objects of each model one delete removes (a
# user's 3,000 posts in a cascade) into a group, kept on the connection for the
# transaction; the group's first post_delete announces them all in one go.
DELETE_GROUPS_ATTR = "_realtime_delete_groups"
DELETE_GROUP_ATTR = "_broadcasting_delete_group"
ANNOUNCED_ATTR = "_broadcasting_delete_announced"


def connect_model_signals() -> None:
    live_models.on_register(_connect)


def _connect(live_model: LiveModel) -> None:
    _make_saves_atomic(live_model.model)
    uid = f"broadcasting.{live_model.model_label}"
    pre_save.connect(on_pre_save, sender=live_model.model, dispatch_uid=f"{uid}.pre_save")
    post_save.connect(on_post_save, sender=live_model.model, dispatch_uid=f"{uid}.post_save")
    pre_delete.connect(on_pre_delete, sender=live_model.model, dispatch_uid=f"{uid}.pre_delete")
    post_delete.connect(on_post_delete, sender=live_model.model, dispatch_uid=f"{uid}.post_delete")


# The save_base wrappers made so far: a model (or its subclass) is wrapped once.
_atomic_save_bases: set[Callable[..., Any]] = set()


def _make_saves_atomic(model: type[models.Model]) -> None:
    save_base = model.save_base
    if save_base in _atomic_save_bases:
        return

    @functools.wraps(save_base)
    def atomic_save_base(self: models.Model, *args: Any, **kwargs: Any) -> None:
        alias = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        if transaction.get_connection(alias).in_atomic_block:
            return save_base(self, *args, **kwargs)
        with transaction.atomic(using=alias):
            return save_base(self, *args, **kwargs)

    _atomic_save_bases.add(atomic_save_base)
    model.save_base = atomic_save_base  # type: ignore[method-assign]  # replacing the method is the point


def _is_announced(live_model: LiveModel | None, raw: bool, update_fields) -> bool:
    if live_model is None or raw or broadcasting_suppressed():
        return False
    return update_fields is None or bool(set(update_fields) & live_model.shown_fields)


def on_pre_save(sender: type[models.Model], instance: models.Model, raw: bool = False,
                using: str = "default", update_fields=None, **kwargs) -> None:  # fmt: skip
    """Called before a save; remembers the stored state when this save may change visibility."""
    live_model = live_models.for_model(sender)
    if live_model is None or not _is_announced(live_model, raw, update_fields):
        return
    if instance._state.adding or instance.pk is None:
        return
    if commit_queue.pending_model_event(using, live_model.channel, instance.pk) is not None:
        return  # an earlier save in this transaction already knows the state before it
    previous = sender._base_manager.using(using).filter(pk=instance.pk).first()
    instance.__dict__[PREVIOUS_STATE_ATTR] = previous


def on_post_save(sender: type[models.Model], instance: models.Model, created: bool, raw: bool = False,
                 using: str = "default", update_fields=None, **kwargs) -> None:  # fmt: skip
    """Called after every save of a live model; queues its event."""
    previous = instance.__dict__.pop(PREVIOUS_STATE_ATTR, None)
    if not _is_announced(live_models.for_model(sender), raw, update_fields):
        return
    exclude_client = current_writer_key()
    if created:
        publisher.broadcast_created(instance, exclude_client=exclude_client, using=using)
    else:
        publisher.broadcast_updated(instance, previous=previous, exclude_client=exclude_client, using=using)


def _delete_groups(using: str) -> dict[tuple[int, type[models.Model]], list[models.Model]]:
    """This transaction's delete groups (a new transaction, or a rolled-back savepoint, starts afresh)."""
    connection = transaction.get_connection(using)
    current = connection.run_on_commit
    cached = getattr(connection, DELETE_GROUPS_ATTR, None)
    if cached is None or cached[0] is not current:
        cached = (current, {})
        setattr(connection, DELETE_GROUPS_ATTR, cached)
    return cached[1]


def on_pre_delete(sender: type[models.Model], instance: models.Model, using: str = "default",
                  origin: Any = None, **kwargs) -> None:  # fmt: skip
    """Called before every delete of a live model: gathers the objects one delete removes, per model."""
    if live_models.for_model(sender) is None or broadcasting_suppressed():
        return
    if not transaction.get_connection(using).in_atomic_block:
        return  # not from the collector (which always opens one): announced one by one
    group = _delete_groups(using).setdefault((id(origin), sender), [])
    group.append(instance)
    instance.__dict__[DELETE_GROUP_ATTR] = group


def on_post_delete(sender: type[models.Model], instance: models.Model, using: str = "default", **kwargs) -> None:
    """Called after every delete of a live model (bulk deletes and cascades included)."""
    group = instance.__dict__.pop(DELETE_GROUP_ATTR, None)
    if instance.__dict__.pop(ANNOUNCED_ATTR, False):
        return  # announced with its group
    if live_models.for_model(sender) is None or broadcasting_suppressed():
        return
    members = [member for member in group or () if member.__dict__.get(DELETE_GROUP_ATTR) is group]
    if not members:
        publisher.broadcast_deleted(instance, exclude_client=current_writer_key(), using=using)
        return
    for member in members:
        member.__dict__.pop(DELETE_GROUP_ATTR, None)
        member.__dict__[ANNOUNCED_ATTR] = True
    if group and group[-1] is instance:
        members.reverse()  # the collector sends post_delete in the reverse of pre_delete's order
    publisher.broadcast_deleted_together([instance, *members], exclude_client=current_writer_key(), using=using)
