"""
`manage.py realtime_stats`: the live side at a glance, for an operator.

For each registered channel: its last seq, its history epoch, how many events the
history holds and the oldest it keeps (a client resuming from before it gets reset). Then the sockets of
every live server process per channel (read from Redis, where each process mirrors its
counts; without REDIS_URL only a server process knows its own sockets: ask its
/ws/stats), who is present per channel (signed-in users and anonymous sockets, from
Redis too), and whether the channel layer answers a round trip. ``--json`` prints the
same as one JSON object.
"""

import asyncio
import json
from collections.abc import Mapping
from typing import Any

from django.core.management.base import BaseCommand
from django.db.models import Count, Min

from broadcasting.layer.transport import layer_round_trip
from broadcasting.live.registry import live_models
from broadcasting.log.sequence import channel_position
from broadcasting.models import ChannelEvent
from broadcasting.presence.counts import socket_counts
from broadcasting.presence.store import RedisPresenceStore, store_from_settings

LAYER_TIMEOUT_SECS = 2.0


class Command(BaseCommand):
    help = "Seqs, history and sockets per channel, and whether the channel layer answers."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args, **options) -> None:
        stats = {"channels": self._channels(), **asyncio.run(self._live())}
        if options["json"]:
            self.stdout.write(json.dumps(stats, indent=2))
            return
        self.stdout.write("channel      last seq  history events  oldest kept seq  epoch")
        for channel, row in stats["channels"].items():
            self.stdout.write(
                f"{channel:<12} {row['last_seq']:>8}  {row['history_events']:>14}  "
                f"{row['oldest_seq'] if row['oldest_seq'] is not None else '-':>15}  {row['epoch']}"
            )
        processes = stats["sockets_per_process"]
        if processes is None:
            self.stdout.write("sockets: unknown here without REDIS_URL (each server process: GET /ws/stats)")
        else:
            # A process with no socket open mirrors no count, so it is not listed.
            open_sockets = sum(sum(counts.values()) for counts in processes.values())
            if not processes:
                self.stdout.write("sockets: none open, in any server process")
            else:
                self.stdout.write(f"sockets: {open_sockets} open, in {len(processes)} server process(es)")
            for process_id, counts in processes.items():
                self.stdout.write(f"  {process_id}: {json.dumps(counts, sort_keys=True)}")
        presence = stats["presence"]
        if presence is not None:
            here = [
                f"{channel} {row['users']} user(s) + {row['anonymous']} anonymous" for channel, row in presence.items()
            ]
            self.stdout.write("presence: " + ", ".join(here))
        self.stdout.write(f"channel layer: {stats['channel_layer']}")

    def _channels(self) -> dict:
        history = {
            row["channel"]: row
            for row in ChannelEvent.objects.values("channel").annotate(events=Count("seq"), oldest=Min("seq"))
        }
        channels: dict[str, dict[str, Any]] = {}
        for channel in live_models.channels():
            last_seq, epoch = channel_position(channel)
            kept: Mapping[str, Any] = history.get(channel, {})
            channels[channel] = {
                "last_seq": last_seq,
                "epoch": epoch,
                "history_events": kept.get("events", 0),
                "oldest_seq": kept.get("oldest"),
            }
        return channels

    async def _live(self) -> dict:
        per_process = await socket_counts.per_process()
        processes = None
        if per_process is not None:
            processes = {process_id: dict(counts) for process_id, counts in per_process.items()}
        try:
            await layer_round_trip(LAYER_TIMEOUT_SECS)
            layer = "ok"
        except Exception as error:
            layer = f"failed: {type(error).__name__}: {error}"
        return {
            "sockets_per_process": processes,
            "presence": await self._presence(),
            "channel_layer": layer,
        }

    async def _presence(self) -> dict | None:
        """Users present and anonymous sockets per channel, across processes (Redis only)."""
        store = store_from_settings()
        if not isinstance(store, RedisPresenceStore):
            return None
        try:
            states = {channel: await store.state(channel) for channel in live_models.channels()}
        except Exception as error:
            self.stderr.write(f"presence: Redis failed: {error}")
            return None
        return {channel: {"users": len(state.users), "anonymous": state.anonymous} for channel, state in states.items()}
