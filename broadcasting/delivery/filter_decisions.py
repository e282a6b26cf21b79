"""
What each distinct filter decided about the event being fanned out, decided once per
process however many sockets share the filter (equal LiveFilters are one key). Kept
here, on the read side, per thread, for one event at a time: the event stays immutable.
"""

import threading

from broadcasting.live.filters import LiveFilter
from broadcasting.wire.events import LiveEvent


class FilterDecisions(threading.local):
    def __init__(self) -> None:
        self.event: LiveEvent | None = None
        self.decided: dict[LiveFilter, tuple[bool, bool]] = {}

    def decided_about(self, live_filter: LiveFilter, event: LiveEvent) -> tuple[bool, bool]:
        """Whether the object was in ``live_filter``'s set before the change, and is after."""
        if event is not self.event:
            self.event, self.decided = event, {}
        decision = self.decided.get(live_filter)
        if decision is None:
            assert event.scope is not None
            decision = (live_filter.matches(event.scope["before"]), live_filter.matches(event.scope["after"]))
            self.decided[live_filter] = decision
        return decision


filter_decisions = FilterDecisions()
