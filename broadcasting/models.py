"""
Per-channel sequence counters and the event history (an outbox).

Every event on a channel takes the next number from its channel's ChannelSequence
row, locked by the ``UPDATE … RETURNING`` that takes it (log/sequence.py) inside the writer's
own transaction. The lock is
held until that transaction ends, so seqs are handed out in commit order across every
server process, and a rolled-back write gives its number back.

The same transaction writes the event, already rendered for each audience, to
ChannelEvent. Live delivery over the channel layer stays the fast path; this table is
what resume (``?since=``) and gap repair read, so a change that commits is never lost,
even when Redis is down at that moment. It is pruned by age and by count (see
log/history.py).
"""

import uuid

from django.db import models
from django.utils import timezone


def new_epoch() -> str:
    return uuid.uuid4().hex


class ChannelSequence(models.Model):
    channel = models.CharField(max_length=64, primary_key=True)
    last_seq = models.BigIntegerField(default=0)
    # Names this channel's history: a seq is meaningful only within one epoch, so a
    # client holding a seq from another database (or a reset one) is told to refetch.
    epoch = models.CharField(max_length=32, default=new_epoch)

    class Meta:
        verbose_name = "channel sequence"

    def __str__(self) -> str:
        return f"{self.channel} @ {self.last_seq}"


class ChannelEvent(models.Model):
    channel = models.CharField(max_length=64)
    seq = models.BigIntegerField()
    # Audience -> the encoded frame that audience gets (see wire/renderings.py, live/audience.py).
    renderings = models.JSONField(default=dict)
    # "<user pk>:<client_id>" of the writing client, or a bare client id named by server code.
    exclude_client = models.CharField(max_length=100, blank=True, default="")
    # Model events: the filtered fields before and after, and the frame of leaving a
    # filter (wire/events.py, live/filters.py); null for custom events and older rows.
    scope = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "channel event"
        constraints = [models.UniqueConstraint(fields=["channel", "seq"], name="channel_event_seq_unique")]
        indexes = [models.Index(fields=["channel", "created_at"], name="channel_event_age_idx")]

    def __str__(self) -> str:
        return f"{self.channel} #{self.seq}"
