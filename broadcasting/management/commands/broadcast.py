"""
`manage.py broadcast CHANNEL EVENT JSON` and `manage.py broadcast --all EVENT JSON`.

Sends the FastAPI guide's custom and all-channel messages from a shell or a deploy script:

    manage.py broadcast users user_login '{"user_id": 123}'
    manage.py broadcast --all maintenance '{"message": "Server will restart in 5 minutes"}'

With REDIS_URL set the message reaches the sockets of every server process at once.
Without it the in-memory layer lives inside one process and this command cannot reach
it; the event is in the database's history all the same, and each server's periodic
check delivers it within a few seconds (REALTIME["SEQ_CHECK_INTERVAL_SECS"]).
"""

import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from broadcasting.live.registry import live_models
from broadcasting.publish import publisher


class Command(BaseCommand):
    help = "Send a custom event to one channel's sockets, or to every channel's with --all."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--all", action="store_true", help="Send to every registered channel.")
        parser.add_argument("targets", nargs="+", metavar="ARG", help="[CHANNEL] EVENT JSON")

    def handle(self, *args, **options) -> None:
        targets = options["targets"]
        expected = 2 if options["all"] else 3
        if len(targets) != expected:
            usage = "--all EVENT JSON" if options["all"] else "CHANNEL EVENT JSON"
            raise CommandError(f"Usage: manage.py broadcast {usage}")
        *channel, event, raw_data = targets
        try:
            data = json.loads(raw_data)
        except ValueError as error:
            raise CommandError(f"JSON is not valid: {error}") from error

        if not settings.REDIS_URL:
            self.stderr.write(
                "REDIS_URL is not set: servers on the in-memory layer will pick this up from the "
                "database at their next check, within a few seconds."
            )
        try:
            if options["all"]:
                if not isinstance(data, dict):
                    raise CommandError("With --all, JSON must be an object (it becomes the event's data).")
                publisher.broadcast_to_all_channels({**data, "type": event})
                where = ", ".join(live_models.channels())
            else:
                publisher.broadcast_custom(channel[0], event, data)
                where = channel[0]
        except ValueError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(self.style.SUCCESS(f"Sent {event!r} to {where}."))
