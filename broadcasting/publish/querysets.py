"""
LiveQuerySet: bulk writes of live models that announce what they change.

Django's ``QuerySet.update()``, ``bulk_create()`` and ``bulk_update()`` send no
signals, so on a plain queryset they would change data without an event: a silent
miss. Live models use this queryset (or a manager built from it), whose bulk methods
queue one event per object, in the same transaction, like a save would::

    class PostQuerySet(LiveQuerySet): ...
    class Post(models.Model):
        objects = PostQuerySet.as_manager()

``QuerySet.delete()`` needs nothing: Django sends post_delete per object because the
model has receivers. A system check (broadcasting.E001) refuses to start a project
whose live model's default manager is not built on LiveQuerySet. Objects that
``bulk_create(ignore_conflicts=True)`` did not insert have no pk and send nothing.
"""

from typing import Any

from django.db import models, transaction

from broadcasting.live.registry import live_models
from broadcasting.publish import publisher
from broadcasting.publish.context import broadcasting_suppressed, current_writer_key


class LiveQuerySet(models.QuerySet[Any, Any]):
    def visible_to(self, user) -> models.QuerySet[Any, Any]:
        """The objects ``user`` may read, by the model's registered visibility (live/visibility.py)."""
        live_model = live_models.for_model(self.model)
        return self if live_model is None else live_model.visibility.readable_by(self, user)

    def _is_live(self) -> bool:
        return live_models.for_model(self.model) is not None and not broadcasting_suppressed()

    def update(self, **kwargs) -> int:
        """UPDATE the rows, then announce each changed object (one ``updated`` each)."""
        if not self._is_live():
            return super().update(**kwargs)
        with transaction.atomic(using=self.db):
            previous = {obj.pk: obj for obj in self.select_for_update()}
            changed = super().update(**kwargs)
            fresh = self.model._base_manager.using(self.db).filter(pk__in=previous)
            for obj in fresh:
                publisher.broadcast_updated(
                    obj, previous=previous[obj.pk], exclude_client=current_writer_key(), using=self.db
                )
        return changed

    def bulk_create(self, objs, *args, **kwargs) -> list[Any]:  # passes every argument on
        """INSERT the objects, then announce each one that got a pk (one ``created`` each)."""
        if not self._is_live():
            return super().bulk_create(objs, *args, **kwargs)
        with transaction.atomic(using=self.db):
            created = super().bulk_create(objs, *args, **kwargs)
            for obj in created:
                if obj.pk is not None:
                    publisher.broadcast_created(obj, exclude_client=current_writer_key(), using=self.db)
        return created

    def bulk_update(self, objs, fields, *args, **kwargs) -> int:
        """UPDATE the objects' ``fields``, then announce each one (one ``updated`` each)."""
        if not self._is_live():
            return super().bulk_update(objs, fields, *args, **kwargs)
        objs = list(objs)
        with transaction.atomic(using=self.db):
            previous = self.model._base_manager.using(self.db).in_bulk([obj.pk for obj in objs])
            changed = super().bulk_update(objs, fields, *args, **kwargs)
            for obj in objs:
                publisher.broadcast_updated(
                    obj, previous=previous.get(obj.pk), exclude_client=current_writer_key(), using=self.db
                )
        return changed
