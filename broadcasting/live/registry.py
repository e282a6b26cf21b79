"""
Which models broadcast, on which channel, rendered by which serializer, seen by whom.

A model joins the live world with one call next to its own code, in the app's
``live.py``, which broadcasting imports at start-up as the admin imports ``admin.py``::

    live_models.register(Post, channel="posts", serializer=PostSerializer,
                         owner_field="author", public_when={"published": True})

Nothing in broadcasting/ names a model. The registry answers three questions for the
rest of the app: is this model live (signals), what does this channel carry (consumers),
and how does an object look to each kind of viewer (frames).
"""

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from rest_framework import serializers

from broadcasting.live.derived import derived_filterset, derived_serializer, with_private_fields
from broadcasting.live.filters import filtered_fields
from broadcasting.live.visibility import Visibility

CHANNEL_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


@dataclass(frozen=True)
class LiveModel:
    """One registered model: the channel it broadcasts on and the rules for who sees what."""

    model: type[models.Model]
    channel: str
    serializer_class: type[serializers.Serializer]
    # Sockets of anonymous users are refused on this channel (close 4401).
    requires_auth: bool = False
    # Who reads what, for sockets and REST alike (live/visibility.py).
    visibility: Visibility = field(default_factory=Visibility)
    # The django-filter FilterSet of the channel's REST list, and so of its sockets'
    # filters (live/filters.py); the model fields (attnames) its filters read.
    filterset: Any = None
    filtered_fields: tuple[str, ...] = ("pk",)
    # Model fields the serializer shows; a save touching none of them is not an event.
    shown_fields: frozenset[str] = field(default_factory=frozenset)
    # Of the fields the visibility rule names, those an owner may still set over REST.
    owner_may_change: frozenset[str] = field(default_factory=frozenset)
    # Its REST API on the live router: a LiveModelViewSet subclass, True for a derived
    # one, False for none (its sockets work either way).
    viewset: Any = False

    @property
    def protected_fields(self) -> frozenset[str]:
        """
        The fields only staff may set over REST: the owner field and those that make an
        object public (an author approving their own comment), less ``owner_may_change``.
        """
        named = {*(self.visibility.public_when or {})}
        if self.visibility.owner_field not in (None, "pk"):
            named.add(self.visibility.owner_field)
        return frozenset(named - self.owner_may_change)

    @property
    def model_label(self) -> str:
        return self.model._meta.label

    def owner(self, instance: models.Model) -> Any:
        """The pk of the user who owns ``instance``, who sees it as its owner would over REST."""
        return self.visibility.owner_pk(instance)

    def is_public(self, instance: models.Model) -> bool:
        """Whether every reader of the channel may see ``instance`` (else staff and owner only)."""
        return self.visibility.is_public(instance)


class LiveModelRegistry:
    """The process-wide table of live models, keyed both by model and by channel."""

    def __init__(self) -> None:
        self._by_model: dict[type[models.Model], LiveModel] = {}
        self._by_channel: dict[str, LiveModel] = {}
        self._listeners: list[Callable[[LiveModel], None]] = []

    def on_register(self, listener: Callable[[LiveModel], None]) -> None:
        """Call ``listener`` for every live model, those registered already and those to come."""
        self._listeners.append(listener)
        for live_model in self:
            listener(live_model)

    def register(
        self,
        model: type[models.Model],
        *,
        channel: str,
        serializer: type[serializers.Serializer] | None = None,
        requires_auth: bool = False,
        owner_field: str | None = None,
        public_when: Mapping[str, Any] | None = None,
        filterset: Any = None,
        owner_may_change: Iterable[str] = (),
        viewset: Any = False,
        private_fields: Iterable[str] = (),
    ) -> LiveModel:
        """
        Make ``model`` live on ``channel``. Called once per model, at app load.
        ``owner_field`` and ``public_when`` say who reads what (live/visibility.py);
        ``filterset`` is the REST list's FilterSet, which sockets then take too.
        ``owner_may_change`` names fields of ``public_when`` an owner may set over REST
        (an author publishing their own post); by default only staff may. With no
        ``serializer`` or ``filterset``, one is derived from the model (live/derived.py). ``viewset``
        puts its REST API at ``/api/<channel>/`` (viewsets.live_router): your
        LiveModelViewSet subclass, or True for one with the registration's rules alone.
        ``private_fields`` are shown to staff and each object's owner only, over REST
        (through the registration's serializer) and on sockets alike.
        """
        if not CHANNEL_NAME_RE.match(channel):
            raise ValueError(f"Invalid channel name {channel!r}: use [a-z0-9_-], at most 64.")
        if channel in self._by_channel and self._by_channel[channel].model is not model:
            raise ValueError(f"Channel {channel!r} is already taken by {self._by_channel[channel].model_label}.")
        visibility = Visibility(owner_field=owner_field, public_when=dict(public_when) if public_when else None)
        visibility.check(model)
        if serializer is None:
            serializer = derived_serializer(model, owner_field)
        if filterset is None:
            filterset = derived_filterset(model)
        if private_fields:
            serializer = with_private_fields(serializer, frozenset(private_fields), visibility)
        live_model = LiveModel(
            model=model,
            channel=channel,
            serializer_class=serializer,
            requires_auth=requires_auth,
            visibility=visibility,
            filterset=filterset,
            filtered_fields=filtered_fields(filterset, model) if filterset is not None else ("pk",),
            shown_fields=_model_fields_shown_by(serializer, model),
            owner_may_change=frozenset(owner_may_change),
            viewset=viewset,
        )
        self._by_model[model] = live_model
        self._by_channel[channel] = live_model
        for listener in self._listeners:
            listener(live_model)
        return live_model

    def unregister(self, model: type[models.Model]) -> None:
        """Take ``model`` off the air (tests, and apps that register conditionally)."""
        live_model = self._by_model.pop(model, None)
        if live_model is not None:
            del self._by_channel[live_model.channel]

    def for_model(self, model: type[models.Model]) -> LiveModel | None:
        """The registration of ``model`` (or of the concrete model a proxy stands for)."""
        live_model = self._by_model.get(model)
        if live_model is None and model._meta.concrete_model is not None:
            live_model = self._by_model.get(model._meta.concrete_model)
        return live_model

    def for_channel(self, channel: str) -> LiveModel | None:
        return self._by_channel.get(channel)

    def channels(self) -> list[str]:
        return sorted(self._by_channel)

    def __iter__(self) -> Iterator[LiveModel]:
        return iter(list(self._by_model.values()))


def _model_fields_shown_by(serializer: type[serializers.Serializer], model: type[models.Model]) -> frozenset[str]:
    """
    The model fields (names and attnames) the serializer reads. A field whose source is
    the whole object (a SerializerMethodField, say) may read anything, so then every
    field counts.
    """
    sources = {serializer_field.source or "" for serializer_field in serializer().fields.values()}
    concrete = model._meta.concrete_fields
    if "*" in sources:
        return frozenset(name for f in concrete for name in (f.name, f.attname))
    top_level = {source.split(".")[0] for source in sources}
    return frozenset(name for f in concrete if {f.name, f.attname} & top_level for name in (f.name, f.attname))


live_models = LiveModelRegistry()
