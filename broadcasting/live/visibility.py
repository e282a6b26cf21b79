"""
Who may read an object of a live model: one rule, used by the REST API and by sockets.

A registration says it declaratively, and both sides derive from that one value::

    live_models.register(Post, ..., owner_field="author", public_when={"published": True})

- Sockets (live/audience.py) ask it about one object in memory: whose is it, is it public.
- REST lists and detail views (LiveModelViewSet.filter_queryset) and
  ``LiveQuerySet.visible_to(user)`` ask it for a queryset: staff read everything, a
  signed-in user what is public or theirs, anonymous readers what is public.

Because both come from the same fields and values, a viewset cannot serve over REST what
its sockets hide (or the reverse). ``public_when`` holds exact field values; a rule that
needs more belongs in a model field the rule can name (say, a ``visibility`` column).
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import models


def attname(model: type[models.Model], name: str) -> str:
    """
    The attribute an instance holds a field's value in ("author" -> "author_id"; "pk"
    stays "pk"). Registration calls it for every field a rule names, so a missing field
    or a reverse relation fails at start-up.
    """
    if name == "pk":
        return "pk"
    model_field = model._meta.get_field(name)
    if not isinstance(model_field, models.Field):
        raise ImproperlyConfigured(f"{model.__name__}.{name} is a reverse relation; name a field of the model itself.")
    return model_field.attname


@dataclass(frozen=True)
class Visibility:
    # The field naming an object's owner, who reads it as its owner would (a foreign key
    # to the user model, or "pk" for the user model itself). None: objects have no owner.
    owner_field: str | None = None
    # Field values that make an object readable by every reader of the channel.
    # None: every object is public. Otherwise staff and the owner alone read the rest.
    public_when: Mapping[str, Any] | None = field(default=None)

    def check(self, model: type[models.Model]) -> None:
        """Raise at registration if a named field does not exist."""
        for name in [self.owner_field or "pk", *(self.public_when or {})]:
            attname(model, name)

    def owner_pk(self, instance: models.Model) -> Any:
        if self.owner_field is None:
            return None
        return getattr(instance, attname(type(instance), self.owner_field))

    def is_public(self, instance: models.Model) -> bool:
        if self.public_when is None:
            return True
        return all(
            getattr(instance, attname(type(instance), name)) == value for name, value in self.public_when.items()
        )

    def readable_by(self, queryset: models.QuerySet, user) -> models.QuerySet:
        """The part of ``queryset`` that ``user`` (None or anonymous: the public) may read."""
        if user is not None and user.is_authenticated and user.is_staff:
            return queryset
        if self.public_when is None:
            return queryset
        public = models.Q(**self.public_when)
        if user is not None and user.is_authenticated and self.owner_field is not None:
            return queryset.filter(public | models.Q(**{self.owner_field: user.pk}))
        return queryset.filter(public)
