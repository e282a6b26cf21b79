"""
LiveEvent: one committed event of a channel, as one value from commit to socket.

The commit queue makes it when the writer's transaction commits; the history stores
and replays it; the transport carries it over the channel layer; the fanout hands it
to every local socket, which picks the rendering for its user. Its renderings are
already-encoded frames keyed by audience (see live/audience.py), so no socket ever runs a
serializer or json.dumps.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from broadcasting.live import audience
from broadcasting.wire import frames
from broadcasting.wire.protocol import ServerFrame


@dataclass(frozen=True, slots=True)
class LiveEvent:
    channel: str
    seq: int
    renderings: Mapping[str, str]
    exclude_client: str | None = None
    # Model events: the object's filtered fields ``before`` and ``after`` the change, and
    # the texts a filtered socket gets when it ``entered`` or ``left`` its filter, by
    # audience (wire/renderings.py); None for custom events.
    scope: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.renderings, MappingProxyType):
            object.__setattr__(self, "renderings", MappingProxyType(dict(self.renderings)))
        if self.scope is not None and isinstance(self.scope.get("left"), str):
            object.__setattr__(self, "scope", _scope_of_a_single_left_frame(self.scope, self.renderings))

    def entered_or_left_for(self, audiences: tuple[str, ...], entered: bool) -> str | None:
        """What a filtered socket of ``audiences`` gets when the object entered (or left) its filter."""
        assert self.scope is not None
        return audience.pick_rendering(self.scope["entered" if entered else "left"], audiences) or None

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


def _scope_of_a_single_left_frame(scope: Mapping[str, Any], renderings: Mapping[str, str]) -> dict[str, Any]:
    """
    A scope as a server before per-audience filter texts stored and sent it (history
    rows, and a rolling deploy's older processes): its texts made from the renderings.
    """
    actions = {key: json.loads(text)["type"] if text else None for key, text in renderings.items()}
    entered = {}
    for key, text in renderings.items():
        if actions[key] == ServerFrame.UPDATED:
            entered[key] = frames.encode({**json.loads(text), "type": ServerFrame.CREATED})
        else:
            entered[key] = text if actions[key] == ServerFrame.CREATED else audience.NOTHING_VISIBLE
    left = {
        key: scope["left"] if action in (ServerFrame.UPDATED, ServerFrame.DELETED) else audience.NOTHING_VISIBLE
        for key, action in actions.items()
    }
    return {**scope, "entered": entered, "left": left}


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
