"""
LiveEvent: one committed event of a channel, as one value from commit to socket.

The commit queue makes it when the writer's transaction commits; the history stores
and replays it; the transport carries it over the channel layer; the fanout hands it
to every local socket, which picks the rendering for its user. Its renderings are
already-encoded frames keyed by audience (see live/audience.py), so no socket ever runs a
serializer or json.dumps.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from broadcasting.live import audience


@dataclass(frozen=True, slots=True)
class LiveEvent:
    channel: str
    seq: int
    renderings: Mapping[str, str]
    exclude_client: str | None = None
    # Model events: the object's filtered fields before and after the change, and the
    # frame of its leaving a filter (live/filters.py); None for custom events.
    scope: Mapping[str, Any] | None = None
    # Per process: what each distinct filter decided about this event, decided once.
    memo: dict[Any, tuple[bool, bool]] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.renderings, MappingProxyType):
            object.__setattr__(self, "renderings", MappingProxyType(dict(self.renderings)))

    def rendering_for(self, audiences: tuple[str, ...], own_keys: frozenset[str]) -> str | None:
        """
        The frame a socket of ``audiences`` gets, or None when the event is not for it
        (not visible to it, nothing it can see changed, or its own write:
        ``exclude_client`` is one of its ``own_keys``): it then gets ``sync``.
        """
        if self.exclude_client is not None and self.exclude_client in own_keys:
            return None
        return audience.pick_rendering(self.renderings, audiences) or None  # NOTHING_VISIBLE too

    def to_message(self, message_type: str) -> dict[str, Any]:
        """The channel-layer message (plain types only: channels-redis packs it with msgpack)."""
        return {
            "type": message_type,
            "channel": self.channel,
            "seq": self.seq,
            "renderings": dict(self.renderings),
            "exclude_client": self.exclude_client,
            "scope": dict(self.scope) if self.scope is not None else None,
        }

    @classmethod
    def from_message(cls, message: Mapping[str, Any]) -> "LiveEvent":
        return cls(
            message["channel"],
            message["seq"],
            message["renderings"],
            message.get("exclude_client"),
            message.get("scope"),
        )


@dataclass(frozen=True, slots=True)
class PresenceChange:
    """
    A ``join`` or ``leave`` on a channel (presence/tracker.py), as one value from the process
    that noticed it to every socket on the channel. No seq: it is not in the history and
    never counts as a gap. Its renderings are encoded frames keyed by audience, plus
    audience.ANONYMOUS for sockets with no user, like an event's.
    """

    channel: str
    kind: str  # "join" or "leave": the type of its frames
    renderings: Mapping[str, str]

    def rendering_for(self, audiences: tuple[str, ...]) -> str | None:
        return audience.pick_rendering(self.renderings, audiences)

    def to_message(self, message_type: str) -> dict[str, Any]:
        return {"type": message_type, "channel": self.channel, "kind": self.kind, "renderings": dict(self.renderings)}

    @classmethod
    def from_message(cls, message: Mapping[str, Any]) -> "PresenceChange":
        return cls(message["channel"], message["kind"], message["renderings"])
