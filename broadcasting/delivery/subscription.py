"""
Subscription: what one socket asked to follow, as one immutable value.

A /ws/<channel> handshake and a /ws/ ``subscribe`` frame both parse into one (the
consumers do the parsing and refuse what is malformed); the socket's feed then asks it
what each event means for this socket. It holds the channel, the viewer (as the
audiences a rendering is picked for, and the exclude_client keys of its own writes),
the filter (live/filters.py; None for the whole channel) and where to resume from.
Who may read what is the registered visibility (live/visibility.py), already folded into
the event's per-audience renderings; the filter narrows that further.
"""

import dataclasses
from dataclasses import dataclass

from broadcasting.delivery.filter_decisions import filter_decisions
from broadcasting.live.filters import FilterParams, LiveFilter
from broadcasting.wire.events import LiveEvent


@dataclass(frozen=True)
class Subscription:
    channel: str
    audiences: tuple[str, ...]  # the viewer: staff / owner / public (live/audience.py)
    own_keys: frozenset[str]  # exclude_client values that mean "this socket's own write"
    live_filter: LiveFilter | None = None
    since: int | None = None  # resume after this seq; None: from the connection's seq
    epoch: str | None = None  # the history ``since`` belongs to
    # What live_filter was parsed from, checked again when the viewer's rights change.
    filter_params: FilterParams = dataclasses.field(default_factory=FilterParams)

    @property
    def filtered(self) -> bool:
        """A filtered socket gets nothing for events outside its set (one sync before its next frame)."""
        return self.live_filter is not None

    def frame_for(self, event: LiveEvent) -> str | None:
        """
        The frame this subscription gets of ``event``; None when the event is not for it.
        Through a filter, an object entering the set arrives as ``created``, one leaving
        it as ``deleted``; events of objects outside it, before and after, are not sent
        (the feed puts one ``sync`` before the next frame). Custom events reach every filter.
        """
        rendering = event.rendering_for(self.audiences, self.own_keys)
        scope = event.scope
        if self.live_filter is None or scope is None or rendering is None:
            return rendering
        was_in, is_in = filter_decisions.decided_about(self.live_filter, event)
        if was_in == is_in:
            return rendering if is_in else None
        if is_in and scope["before"] is None:
            return rendering  # a new object: ``created`` already
        return event.entered_or_left_for(self.audiences, entered=is_in)

    def seen_by(self, audiences: tuple[str, ...]) -> "Subscription":
        """The same subscription for a viewer whose audiences changed (a staff flag flipped)."""
        return dataclasses.replace(self, audiences=audiences)
