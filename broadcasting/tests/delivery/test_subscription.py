"""delivery/subscription.py: one immutable value per followed channel decides what each event means for it."""

import dataclasses

import pytest

from broadcasting.delivery.subscription import Subscription
from broadcasting.live import audience
from broadcasting.live.filters import Condition, LiveFilter
from broadcasting.wire.events import LiveEvent

UPDATED = '{"type":"updated","model":"posts","channel":"posts","timestamp":"t","seq":7,"data":{"id":3}}'
LEFT = '{"type":"deleted","model":"posts","channel":"posts","timestamp":"t","seq":7,"data":{"id":3}}'


def event(before: dict | None, after: dict | None, exclude_client: str | None = None) -> LiveEvent:
    scope = {"before": before, "after": after, "left": LEFT}
    return LiveEvent("posts", 7, {audience.PUBLIC: UPDATED}, exclude_client, scope)


PUBLIC_SOCKET = Subscription("posts", (audience.PUBLIC,), frozenset({"tab-1"}))
BY_AUTHOR_3 = LiveFilter((Condition("author_id", "exact", 3),))


def test_a_whole_channel_subscription_gets_its_audiences_rendering_and_nothing_of_its_own_writes():
    assert PUBLIC_SOCKET.frame_for(event({"author_id": 3}, {"author_id": 3})) == UPDATED
    assert PUBLIC_SOCKET.frame_for(event({"author_id": 3}, {"author_id": 3}, exclude_client="tab-1")) is None
    assert not PUBLIC_SOCKET.filtered


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        ({"author_id": 3}, {"author_id": 3}, UPDATED),  # stays in the set
        ({"author_id": 4}, {"author_id": 3}, UPDATED.replace('"updated"', '"created"')),  # enters it
        ({"author_id": 3}, {"author_id": 4}, LEFT),  # leaves it
        ({"author_id": 4}, {"author_id": 5}, None),  # never in it
    ],
)
def test_a_filtered_subscription_sees_objects_enter_and_leave_its_set(before, after, expected):
    subscription = dataclasses.replace(PUBLIC_SOCKET, live_filter=BY_AUTHOR_3)
    assert subscription.filtered
    assert subscription.frame_for(event(before, after)) == expected


def test_a_changed_viewer_is_a_new_value_the_old_one_unchanged():
    staff = PUBLIC_SOCKET.seen_by((audience.STAFF, audience.PUBLIC))
    assert staff.audiences == (audience.STAFF, audience.PUBLIC) and PUBLIC_SOCKET.audiences == (audience.PUBLIC,)
    with pytest.raises(dataclasses.FrozenInstanceError):
        PUBLIC_SOCKET.channel = "users"
