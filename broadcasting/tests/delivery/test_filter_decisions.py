"""delivery/filter_decisions.py: each distinct filter is decided once per event, outside the event."""

from django.http import QueryDict

from broadcasting.delivery.filter_decisions import FilterDecisions
from broadcasting.live.filters import LiveFilter
from broadcasting.live.registry import live_models
from broadcasting.wire.events import LiveEvent

SCOPE = {"before": None, "after": {"pk": 1, "author_id": 7, "published": True}, "entered": {}, "left": {}}


def test_each_distinct_filter_is_decided_once_per_event(monkeypatch):
    live_model = live_models.for_channel("posts")
    event = LiveEvent("posts", 5, {"public": '{"type":"created","seq":5}'}, None, SCOPE)
    same = [LiveFilter.parse(live_model, QueryDict("published=true"), None) for _ in range(3)]
    other = LiveFilter.parse(live_model, QueryDict("published=false"), None)
    decided = []
    monkeypatch.setattr(LiveFilter, "matches", lambda self, state: decided.append(self) or state is not None)
    decisions = FilterDecisions()
    for live_filter in [*same, other]:
        assert decisions.decided_about(live_filter, event) == (False, True)
    assert len(decided) == 2 * 2  # before and after, for each of the two distinct filters


def test_a_new_event_is_decided_afresh_and_the_event_is_left_as_it_was():
    live_model = live_models.for_channel("posts")
    live_filter = LiveFilter.parse(live_model, QueryDict("published=true"), None)
    first = LiveEvent("posts", 5, {"public": "{}"}, None, SCOPE)
    gone = LiveEvent("posts", 6, {"public": "{}"}, None, {**SCOPE, "before": SCOPE["after"], "after": None})
    decisions = FilterDecisions()
    assert decisions.decided_about(live_filter, first) == (False, True)
    assert decisions.decided_about(live_filter, gone) == (True, False)
    assert first == LiveEvent("posts", 5, {"public": "{}"}, None, SCOPE)
