"""
CredentialsWatch: every signed-in socket of this process follows its credentials.

Each socket that opened with credentials (sockets/accounts.py) is in the watch from its accept
to its end, whatever it is subscribed to, an idle /ws/ socket included. Every
REALTIME["SEQ_CHECK_INTERVAL_SECS"] the watch reads, in one thread hop, the accounts,
sessions and tokens behind all of them, and hands each socket the snapshot: one whose
credentials ended closes 4401, one whose staff flag changed is re-rendered for its new
rights. Sockets also ask ``recheck_now`` before a /ws/ subscription replays anything.
"""

import asyncio
import logging
from typing import Protocol

from broadcasting.conf import realtime_setting
from broadcasting.runtime.db_thread import database_call
from broadcasting.runtime.error_text import first_line
from broadcasting.runtime.per_loop import PerLoop
from broadcasting.sockets.accounts import AccountsSnapshot, Credentials, read_accounts

logger = logging.getLogger(__name__)


class WatchedSocket(Protocol):
    @property
    def credentials(self) -> Credentials | None: ...

    async def follow_credentials(self, accounts: AccountsSnapshot) -> None:
        """Apply the state of the accounts behind the socket (sockets/rights.py)."""


class LoopWatch:
    """The watched sockets of one event loop, and the task that rechecks them."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.sockets: set[WatchedSocket] = set()
        self.task: asyncio.Task | None = None

    def add(self, socket: WatchedSocket) -> None:
        self.sockets.add(socket)
        if self.task is None or self.task.done():
            self.task = self.loop.create_task(self._recheck_forever())

    def remove(self, socket: WatchedSocket) -> None:
        self.sockets.discard(socket)

    async def _recheck_forever(self) -> None:
        while self.sockets:
            await asyncio.sleep(realtime_setting("SEQ_CHECK_INTERVAL_SECS"))
            await self.recheck(tuple(self.sockets))

    async def recheck(self, sockets: tuple[WatchedSocket, ...]) -> None:
        credentials = {socket.credentials for socket in sockets if socket.credentials is not None}
        if not credentials:
            return
        try:
            accounts = await database_call(read_accounts)(credentials)
        except Exception as error:  # the database is away: keep the sockets, check again next time
            logger.warning("Could not read the credentials behind %d socket(s): %s", len(sockets), first_line(error))
            return
        for socket in sockets:
            if socket not in self.sockets:
                continue  # closed while the accounts were read
            try:
                await socket.follow_credentials(accounts)
            except Exception:
                logger.exception("Rechecking the credentials of a socket failed.")


class CredentialsWatch:
    """The process's watch: one LoopWatch per event loop."""

    def __init__(self) -> None:
        self._loops: PerLoop[LoopWatch] = PerLoop(LoopWatch)

    def add(self, socket: WatchedSocket) -> None:
        """Called when a signed-in socket is accepted."""
        self._loops.get().add(socket)

    def remove(self, socket: WatchedSocket) -> None:
        """Called when a socket ends, whatever ended it; safe to call more than once."""
        self._loops.get().remove(socket)

    async def recheck_now(self, socket: WatchedSocket) -> None:
        """Check one socket's credentials at once (before a subscription replays history)."""
        await self._loops.get().recheck((socket,))

    def watched(self) -> int:
        return len(self._loops.get().sockets)


credentials_watch = CredentialsWatch()
