"""
ChannelFeed: one socket's position on a channel, and what it is sent to keep it exact.

The socket gets every committed event of the channel exactly once, in seq order: the
frame its user's REST serializer would show, or a ``sync`` frame for an event it does
not get (not visible to it, or its own write), so its seqs never jump.

Live events come from the process fanout through ``offer``, which never awaits: the
next event in order is pushed to the socket's outbox; a later one means the feed is
behind (the layer dropped something, or a replay is running), and a catch-up task
reads the missing stretch from the history in pages of REALTIME["REPLAY_PAGE_EVENTS"],
waiting for room in the outbox before each page. Live events that arrive meanwhile
only raise the target, so a long replay holds one page in memory, not the history.
The fanout's periodic ``check_in`` finds feeds that never heard of an event at all.
"""

import asyncio
import logging

from broadcasting import metrics
from broadcasting.conf import realtime_setting
from broadcasting.delivery.outbox import Outbox
from broadcasting.delivery.replay_pages import replay_pages
from broadcasting.delivery.subscription import Subscription
from broadcasting.log.sequence import channel_position
from broadcasting.runtime.db_thread import database_call
from broadcasting.wire import frames
from broadcasting.wire.events import LiveEvent

logger = logging.getLogger(__name__)


class ChannelFeed:
    """The ordered, exactly-once stream of one channel to one socket."""

    def __init__(self, subscription: Subscription, outbox: Outbox) -> None:
        self.subscription = subscription  # what the socket follows, and what each event means to it
        self.outbox = outbox
        # A filtered (or one-object) socket gets only its set's events, and no sync per
        # skipped one: one sync before the next frame it gets says what it skipped.
        self.skipped_since_sent = False
        self.epoch = ""  # the channel's epoch, from start()
        self.last_seq: int | None = None  # the last seq sent; None until start() places the feed
        self.heard_seq = 0  # the highest seq known to be committed
        self.behind_at_seq: int | None = None
        self.last_sent_at = asyncio.get_running_loop().time()
        self._catch_up_task: asyncio.Task | None = None

    @property
    def channel(self) -> str:
        return self.subscription.channel

    def start(self, committed_seq: int, epoch: str) -> None:
        """
        Called once the connection (or subscribed) frame at ``committed_seq`` is queued:
        from here the socket gets every later event, after the replay of those after the
        subscription's ``since``.
        """
        since_seq, since_epoch = self.subscription.since, self.subscription.epoch
        self.epoch = epoch
        self.heard_seq = max(self.heard_seq, committed_seq)
        if since_seq is None:
            self.last_seq = committed_seq
        elif since_epoch is not None and since_epoch != epoch:
            self._reset(committed_seq, "since belongs to another history of this channel; refetch.")
        elif since_seq > committed_seq:
            self._reset(committed_seq, f"since={since_seq} is ahead of this channel (seq {committed_seq}); refetch.")
        else:
            self.last_seq = since_seq
        self._catch_up_if_behind()

    def offer(self, event: LiveEvent, now: float) -> None:
        """
        Called by the process fanout with each live event of the channel (``now`` is the
        loop time it arrived); never waits.
        """
        last_seq = self.last_seq
        if last_seq is not None and event.seq == last_seq + 1 and self._catch_up_task is None:
            self._send_event(event, now)
        elif last_seq is None or event.seq > last_seq:
            self.heard_seq = max(self.heard_seq, event.seq)
            if last_seq is not None:
                self._catch_up_if_behind()

    def check_in(self, committed_seq: int, now: float) -> None:
        """
        Called by the fanout's periodic check with the channel's committed seq. A feed
        behind at two checks in a row without progress has lost events: fetch them. An
        idle one gets a ``sync`` so its client can tell silence from loss.
        """
        if self.last_seq is None or self._catch_up_task is not None:
            return
        if self.last_seq >= committed_seq:
            self.behind_at_seq = None
            if now - self.last_sent_at >= realtime_setting("IDLE_SYNC_SECS"):
                self._send(frames.sync_frame(self.channel, self.last_seq), now)
        elif self.behind_at_seq == self.last_seq:
            logger.info("Socket on %r missed seqs %s..%s; repairing.", self.channel, self.last_seq + 1, committed_seq)
            self.behind_at_seq = None
            self.heard_seq = max(self.heard_seq, committed_seq)
            self._catch_up_if_behind()
        else:
            self.behind_at_seq = self.last_seq

    def stop(self) -> None:
        """Called when the socket is gone."""
        if self._catch_up_task is not None:
            self._catch_up_task.cancel()
            self._catch_up_task = None

    # --- Sending ----------------------------------------------------------------------

    def _send_event(self, event: LiveEvent, now: float) -> None:
        rendering = self.subscription.frame_for(event)
        if not self.subscription.filtered:
            self._send(rendering or frames.sync_frame(self.channel, event.seq), now)
        else:
            if rendering is None:
                self.skipped_since_sent = True
            else:
                if self.skipped_since_sent:
                    self._send(frames.sync_frame(self.channel, event.seq - 1), now)
                self._send(rendering, now)
        self.last_seq = event.seq

    def _send(self, text: str, now: float) -> None:
        self.outbox.push(text)
        self.last_sent_at = now
        self.skipped_since_sent = False

    def _reset(self, committed_seq: int, reason: str) -> None:
        metrics.resets_sent.labels(self.channel).inc()
        reset = frames.encode(frames.reset_frame(self.channel, committed_seq, self.epoch, reason))
        self._send(reset, asyncio.get_running_loop().time())
        self.last_seq = committed_seq
        self.heard_seq = max(self.heard_seq, committed_seq)

    # --- Catching up from the history -------------------------------------------------

    def _placed_seq(self) -> int:
        """last_seq once start() has placed the feed: catching up never runs before."""
        assert self.last_seq is not None, "a feed catches up only after start() placed it"
        return self.last_seq

    def _catch_up_if_behind(self) -> None:
        if self._catch_up_task is None and self._placed_seq() < self.heard_seq and self.outbox.open:
            self._catch_up_task = asyncio.get_running_loop().create_task(self._catch_up())

    async def _catch_up(self) -> None:
        page_events = realtime_setting("REPLAY_PAGE_EVENTS")
        repaired = False
        try:
            while self._placed_seq() < self.heard_seq and self.outbox.open:
                page = await replay_pages.get().page(self.channel, self._placed_seq(), self.heard_seq, page_events)
                if page is None:
                    committed_seq, _ = await database_call(channel_position)(self.channel)
                    self._reset(committed_seq, f"Events after seq {self.last_seq} are no longer kept; refetch.")
                    continue
                for event in page:
                    if not self.outbox.has_replay_room():
                        await self.outbox.wait_for_room()
                    if event.seq == self._placed_seq() + 1 and self.outbox.open:
                        self._send_event(event, asyncio.get_running_loop().time())
                repaired = repaired or bool(page)
        except asyncio.CancelledError:
            raise
        except Exception:
            # The periodic check finds the feed still behind and tries again.
            logger.exception("Catching up on channel %r failed; retrying at the next check.", self.channel)
        finally:
            self._catch_up_task = None
        if repaired:
            metrics.gap_repairs.labels(self.channel).inc()
