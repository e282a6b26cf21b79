"""wire/events.py: one immutable event from commit to socket, whatever wrote it."""

import dataclasses
import json

import pytest

from broadcasting.delivery.subscription import Subscription
from broadcasting.live import audience
from broadcasting.live.filters import Condition, LiveFilter
from broadcasting.wire.events import LiveEvent

UPDATED = '{"type":"updated","model":"posts","channel":"posts","timestamp":"t","seq":7,"data":{"id":3,"title":"x"}}'
LEFT = '{"type":"deleted","model":"posts","channel":"posts","timestamp":"t","seq":7,"data":{"id":3}}'


def test_an_event_cannot_be_changed_by_its_readers():
    event = LiveEvent("posts", 7, {audience.PUBLIC: UPDATED})
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.seq = 8
    with pytest.raises(TypeError):
        event.renderings[audience.PUBLIC] = "{}"


def test_an_event_stored_with_a_single_left_frame_still_enters_and_leaves_filters():
    """History rows (and older processes in a rolling deploy) carry one ``left`` text and no ``entered``."""
    by_author_3 = dataclasses.replace(
        Subscription("posts", (audience.PUBLIC,), frozenset()),
        live_filter=LiveFilter((Condition("author_id", "exact", 3),)),
    )
    entering = LiveEvent(
        "posts",
        7,
        {audience.PUBLIC: UPDATED},
        None,
        {"before": {"author_id": 4}, "after": {"author_id": 3}, "left": LEFT},
    )
    leaving = LiveEvent(
        "posts",
        7,
        {audience.PUBLIC: UPDATED},
        None,
        {"before": {"author_id": 3}, "after": {"author_id": 4}, "left": LEFT},
    )
    assert json.loads(by_author_3.frame_for(entering)) == {**json.loads(UPDATED), "type": "created"}
    assert by_author_3.frame_for(leaving) == LEFT
