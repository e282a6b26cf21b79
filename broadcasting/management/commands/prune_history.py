"""
`manage.py prune_history`: drop events older than REALTIME["HISTORY_RETENTION_SECS"]
or beyond REALTIME["HISTORY_MAX_EVENTS"] per channel. Writes prune as they go (every
REALTIME["PRUNE_EVERY_EVENTS"] events); run this from cron when channels go quiet
for long stretches.
"""

from django.core.management.base import BaseCommand

from broadcasting.log import history
from broadcasting.models import ChannelSequence


class Command(BaseCommand):
    help = "Delete event history beyond the configured age and count."

    def handle(self, *args, **options) -> None:
        total = 0
        for channel, last_seq in ChannelSequence.objects.values_list("channel", "last_seq"):
            deleted = history.prune(channel, last_seq)
            total += deleted
            self.stdout.write(f"{channel}: {deleted} events pruned")
        self.stdout.write(self.style.SUCCESS(f"{total} events pruned in all."))
