"""
Per-channel sequence counters.

Every event on a channel takes the next number from its channel's row, locked with
SELECT ... FOR UPDATE inside the writer's own transaction. The lock is held until that
transaction ends, so seqs are handed out in commit order across every server process,
and a rolled-back write gives its number back.
"""

from django.db import models


class ChannelSequence(models.Model):
    channel = models.CharField(max_length=64, primary_key=True)
    last_seq = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = "channel sequence"

    def __str__(self) -> str:
        return f"{self.channel} @ {self.last_seq}"
