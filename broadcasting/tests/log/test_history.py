"""The event history: written with the change, pruned by age and count."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from broadcasting.log import history
from broadcasting.models import ChannelEvent
from testing.asgi_sockets import write_posts

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.database]


def kept_seqs() -> list[int]:
    return list(ChannelEvent.objects.filter(channel="posts").order_by("seq").values_list("seq", flat=True))


def test_each_committed_event_is_in_the_history_with_its_renderings():
    write_posts(2)
    events = history.events_page("posts", 0, 2, limit=100)
    assert [event.seq for event in events] == [1, 2]
    assert '"type":"created"' in events[0].renderings["public"]


def test_history_is_read_in_pages_of_at_most_the_limit():
    write_posts(5)
    assert [event.seq for event in history.events_page("posts", 0, 5, limit=2)] == [1, 2]
    assert [event.seq for event in history.events_page("posts", 4, 5, limit=2)] == [5]
    assert history.events_page("posts", 5, 5, limit=2) == []


def test_a_rolled_back_change_leaves_no_history():
    with pytest.raises(RuntimeError), transaction.atomic():
        write_posts(1)
        raise RuntimeError("abort")
    assert kept_seqs() == []


@override_settings(REALTIME={"HISTORY_MAX_EVENTS": 3, "PRUNE_EVERY_EVENTS": 5})
def test_writes_prune_beyond_the_count_as_they_go():
    write_posts(5)
    assert kept_seqs() == [3, 4, 5]


@override_settings(REALTIME={"HISTORY_RETENTION_SECS": 60, "PRUNE_EVERY_EVENTS": 1000})
def test_prune_history_command_drops_events_older_than_the_retention(capsys):
    write_posts(3)
    ChannelEvent.objects.filter(seq__lte=2).update(created_at=timezone.now() - timedelta(seconds=120))
    call_command("prune_history")
    assert kept_seqs() == [3]
    assert "2 events pruned in all" in capsys.readouterr().out
