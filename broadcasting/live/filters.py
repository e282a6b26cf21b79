"""
LiveFilter: the REST list's filter, evaluated on events in memory.

A channel registered with ``filterset=`` (the FilterSet its REST list uses, one
definition for both) accepts that FilterSet's parameters on the socket URL:
``/ws/posts?author=3&published=true`` gets exactly the events of objects in
``GET /api/posts/?author=3&published=true``. ``/ws/posts/5`` follows one object.

Parameters are validated by the FilterSet's own form, so a socket refuses exactly what
the REST list refuses (``invalid_filter``, close 4400). Each model event carries the
values of the filtered fields before and after the change (its ``scope``), so a filter
is decided in memory, once per distinct filter per event in each process
(delivery/filter_decisions.py), never with a query per socket. An object that starts to
match reaches the socket as ``created``, one that stops as ``deleted``.

Filters are evaluated by their ``field_name`` and ``lookup_expr``; the lookups in
LOOKUPS are supported. A filter with a ``method`` (custom queryset code) cannot be
evaluated in memory: registration refuses a FilterSet with one (ImproperlyConfigured).
"""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.http import QueryDict
from rest_framework.exceptions import PermissionDenied

from broadcasting.conf import realtime_setting
from broadcasting.live.visibility import attname


def _text(value: Any) -> str:
    return "" if value is None else str(value)


LOOKUPS: dict[str, Callable[[Any, Any], bool]] = {
    "exact": lambda value, wanted: value == wanted,
    "iexact": lambda value, wanted: _text(value).casefold() == _text(wanted).casefold(),
    "in": lambda value, wanted: value in wanted,
    "contains": lambda value, wanted: _text(wanted) in _text(value),
    "icontains": lambda value, wanted: _text(wanted).casefold() in _text(value).casefold(),
    "startswith": lambda value, wanted: _text(value).startswith(_text(wanted)),
    "istartswith": lambda value, wanted: _text(value).casefold().startswith(_text(wanted).casefold()),
    "gt": lambda value, wanted: value is not None and value > wanted,
    "gte": lambda value, wanted: value is not None and value >= wanted,
    "lt": lambda value, wanted: value is not None and value < wanted,
    "lte": lambda value, wanted: value is not None and value <= wanted,
    "isnull": lambda value, wanted: (value is None) == bool(wanted),
}


class InvalidFilter(ValueError):
    """A socket's filter parameters that its channel's REST list would refuse."""


def plain(value: Any) -> Any:
    """A field or filter value as events carry it: JSON types, a model as its pk."""
    if isinstance(value, models.Model):
        return value.pk
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(item) for item in value]
    return str(value)


def filtered_fields(filterset_class, model: type[models.Model]) -> tuple[str, ...]:
    """
    The attnames a FilterSet's filters read, checked for in-memory evaluation: called
    at registration, so a FilterSet a socket could not follow fails at start-up.
    """
    names = {"pk"}
    for name, declared in filterset_class.base_filters.items():
        if getattr(declared, "method", None) is not None:
            raise ImproperlyConfigured(
                f"{filterset_class.__name__}.{name} has a method, which cannot be evaluated on live events; "
                "express it with field_name and lookup_expr (see broadcasting/live/filters.py)."
            )
        if declared.lookup_expr not in LOOKUPS or "__" in declared.field_name:
            raise ImproperlyConfigured(
                f"{filterset_class.__name__}.{name}: lookup {declared.field_name}__{declared.lookup_expr} "
                f"is not supported on live events (supported: {', '.join(LOOKUPS)})."
            )
        names.add(attname(model, declared.field_name))
    return tuple(sorted(names))


def field_state(fields: tuple[str, ...], instance: models.Model) -> dict[str, Any]:
    """The values of ``fields`` (attnames) on ``instance``, as events carry them."""
    return {name: plain(getattr(instance, name)) for name in fields}


@dataclass(frozen=True)
class Condition:
    attname: str
    lookup: str
    wanted: Any  # a plain() value; a list of them (``in``) is kept as a tuple
    exclude: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.wanted, list):
            object.__setattr__(self, "wanted", tuple(self.wanted))  # hashable, and ``in`` reads it as is

    def holds(self, state: Mapping[str, Any]) -> bool:
        return LOOKUPS[self.lookup](state.get(self.attname), self.wanted) != self.exclude


@dataclass(frozen=True)
class LiveFilter:
    """
    One socket's filter: every condition holds on the object's state. Hashable, so equal
    filters of different sockets are decided once per event (delivery/filter_decisions.py).
    """

    conditions: tuple[Condition, ...]

    def matches(self, state: Mapping[str, Any] | None) -> bool:
        return state is not None and all(condition.holds(state) for condition in self.conditions)

    @classmethod
    def parse(cls, live_model, params: QueryDict, viewer: Any, object_pk: str | None = None) -> "LiveFilter | None":
        """
        The filter of a socket's query parameters (and its one object's pk), validated by
        the channel's FilterSet as the REST list would; None when it has neither.
        Raises InvalidFilter with the FilterSet's own messages.
        """
        conditions: list[Condition] = []
        if object_pk is not None:
            try:
                pk = live_model.model._meta.pk.to_python(object_pk)
            except Exception as error:
                raise InvalidFilter(f"{object_pk!r} is not a valid id.") from error
            conditions.append(Condition("pk", "exact", plain(pk)))
        if params:
            filterset_class = live_model.filterset
            if filterset_class is None:
                raise InvalidFilter(f"Channel {live_model.channel!r} takes no filters.")
            unknown = sorted(set(params) - set(filterset_class.base_filters))
            if unknown:
                # Named back to the client, a few and cut short: the parameters are its own input.
                named = ", ".join(name[:64] for name in unknown[:5]) + (
                    f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
                )
                allowed = ", ".join(sorted(filterset_class.base_filters)) or "none"
                raise InvalidFilter(f"Unknown filter {named}; this channel takes: {allowed}.")
            filterset = filterset_class(
                data=params, queryset=live_model.model._default_manager.none(), request=_ViewerRequest(viewer)
            )
            try:
                valid = filterset.is_valid()
            except PermissionDenied as denied:
                raise InvalidFilter(str(denied.detail)) from denied
            if not valid:
                raise InvalidFilter(
                    "; ".join(f"{name}: {' '.join(errors)}" for name, errors in filterset.errors.items())
                )
            for name, value in filterset.form.cleaned_data.items():
                declared = filterset.filters[name]
                if value is None or value == "" or value == []:
                    continue  # given empty: the REST list ignores it too
                conditions.append(
                    Condition(
                        attname(live_model.model, declared.field_name),
                        declared.lookup_expr,
                        plain(value),
                        declared.exclude,
                    )
                )
        return cls(tuple(conditions)) if conditions else None


# Longest filter parameter name: the longest a FilterSet declares is far shorter.
MAX_FILTER_NAME_CHARS = 64


@dataclass(frozen=True)
class FilterParams:
    """
    A subscription's filter as the client gave it (query parameters or a subscribe
    frame's ``filter``, and the one object's pk), kept so the filter can be checked again
    when the user's rights change. Its size is bounded before anything is parsed.
    """

    pairs: tuple[tuple[str, str], ...] = ()
    object_pk: str | None = None

    def __bool__(self) -> bool:
        return bool(self.pairs) or self.object_pk is not None

    @classmethod
    def of(cls, pairs: Iterable[tuple[str, str]], object_pk: str | None = None) -> "FilterParams":
        """The parameters of ``pairs``; InvalidFilter past REALTIME's filter limits."""
        max_params = realtime_setting("MAX_FILTER_PARAMS")
        max_value_chars = realtime_setting("MAX_FILTER_VALUE_CHARS")
        kept: list[tuple[str, str]] = []
        for name, value in pairs:
            if len(kept) >= max_params:
                raise InvalidFilter(f"At most {max_params} filter parameters.")
            if len(name) > MAX_FILTER_NAME_CHARS or len(value) > max_value_chars:
                raise InvalidFilter(
                    f"A filter parameter's name is at most {MAX_FILTER_NAME_CHARS} characters "
                    f"and its value at most {max_value_chars}."
                )
            kept.append((name, value))
        return cls(tuple(kept), object_pk)

    def query_dict(self) -> QueryDict:
        params = QueryDict(mutable=True)
        for name, value in self.pairs:
            params.appendlist(name, value)
        return params

    def parse(self, live_model, viewer: Any) -> "LiveFilter | None":
        """The LiveFilter these parameters make for ``viewer`` (see LiveFilter.parse)."""
        return LiveFilter.parse(live_model, self.query_dict(), viewer, self.object_pk)


@dataclass(frozen=True)
class _ViewerRequest:
    """What a FilterSet sees as ``request``: the socket's user."""

    user: Any
