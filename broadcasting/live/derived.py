"""
What a live model gets when its registration names no serializer or no FilterSet.

- The serializer: its concrete fields, as a ModelSerializer shows them, less any that
  look private (a password, a token, a secret, a hash), with its pk and owner read-only.
- The FilterSet: exact filters on its foreign keys, booleans and fields with choices
  (``?post=7&approved=true``), which its sockets then take too.

Name your own to show more or less, or to filter otherwise; REST and sockets both use
what the registration holds. ``private_fields`` (OwnerOnlyFields) hide fields from all
but staff and the object's owner, in a derived serializer or in yours.
"""

import re

import django_filters
from django.db import models
from rest_framework import serializers

from broadcasting.live.visibility import Visibility

# Field names never shown unless a serializer of your own shows them.
PRIVATE_FIELD_RE = re.compile(r"password|passwd|secret|token|api_key|private|(^|_)hash($|_)", re.IGNORECASE)


def shown_field_names(model: type[models.Model]) -> list[str]:
    """The concrete fields a derived serializer shows: all but the private-looking ones."""
    return [field.name for field in model._meta.concrete_fields if not PRIVATE_FIELD_RE.search(field.name)]


def read_only_field_names(model: type[models.Model], owner_field: str | None) -> list[str]:
    """What a client never sets: the pk, and the owner (the server sets it from the request)."""
    return [model._meta.pk.name] + ([owner_field] if owner_field not in (None, "pk") else [])


def title_field_name(model: type[models.Model], among: list[str] | None = None) -> str | None:
    """The first text field of ``model`` (of those ``among``, if given): what a list titles an object by."""
    text_fields = [f.name for f in model._meta.concrete_fields if isinstance(f, models.CharField | models.TextField)]
    return next((name for name in text_fields if among is None or name in among), None)


def derived_serializer(model: type[models.Model], owner_field: str | None) -> type[serializers.ModelSerializer]:
    """A ModelSerializer of ``model``'s shown fields, its pk and owner read-only."""
    read_only = read_only_field_names(model, owner_field)
    meta = type("Meta", (), {"model": model, "fields": shown_field_names(model), "read_only_fields": read_only})
    return type(
        f"{model.__name__}LiveSerializer", (serializers.ModelSerializer,), {"Meta": meta, "__module__": __name__}
    )


def filterable_field_names(model: type[models.Model]) -> list[str]:
    """The fields a derived FilterSet filters on: foreign keys, booleans and fields with choices."""
    return [
        field.name
        for field in model._meta.concrete_fields
        if isinstance(field, models.ForeignKey | models.BooleanField) or field.choices
    ]


def derived_filterset(model: type[models.Model]) -> type[django_filters.FilterSet] | None:
    """A FilterSet of exact filters on ``model``'s filterable fields; None when it has none."""
    names = filterable_field_names(model)
    if not names:
        return None
    meta = type("Meta", (), {"model": model, "fields": names})
    return type(f"{model.__name__}LiveFilter", (django_filters.FilterSet,), {"Meta": meta, "__module__": __name__})


class OwnerOnlyFields:
    """
    A serializer mixin: ``private_fields`` are shown to staff and the object's owner only.
    Sockets render per audience with a stand-in user (live/audience.py), REST with the
    request's: both read ``request.user`` here, so both hide the same fields.
    """

    private_fields: frozenset[str] = frozenset()
    visibility: Visibility = Visibility()

    def to_representation(self, instance: models.Model) -> dict:
        data = super().to_representation(instance)  # type: ignore[misc]
        request = getattr(self, "context", {}).get("request")
        user = getattr(request, "user", None)
        if user is not None and getattr(user, "is_staff", False):
            return data
        owner = self.visibility.owner_pk(instance)
        if owner is not None and user is not None and getattr(user, "is_authenticated", False) and owner == user.pk:
            return data
        return {name: value for name, value in data.items() if name not in self.private_fields}


def with_private_fields(
    serializer: type[serializers.Serializer], private_fields: frozenset[str], visibility: Visibility
) -> type[serializers.Serializer]:
    """``serializer`` with ``private_fields`` shown to staff and the owner only (who owns what: ``visibility``)."""
    attributes = {"private_fields": private_fields, "visibility": visibility, "__module__": serializer.__module__}
    return type(serializer.__name__, (OwnerOnlyFields, serializer), attributes)
