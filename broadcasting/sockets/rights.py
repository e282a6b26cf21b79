"""
A socket follows its user's rights while it is open: the credentials watch hands it the
state of the accounts every interval and at each ``subscribe``. Ended credentials close
it 4401; a changed staff flag re-renders every subscription for the user's new self,
and a subscription whose filter they may no longer use ends (on /ws/<channel>, the socket).
"""

from typing import TYPE_CHECKING, Any

from broadcasting.delivery.subscription import Subscription
from broadcasting.live import audience
from broadcasting.live.filters import InvalidFilter
from broadcasting.live.registry import live_models
from broadcasting.runtime.db_thread import database_call
from broadcasting.sockets.accounts import AccountsSnapshot, load_user
from broadcasting.sockets.handshake import Refused
from broadcasting.wire.protocol import ErrorCode

if TYPE_CHECKING:
    from broadcasting.sockets.consumer import LiveSocketConsumer


async def follow(socket: "LiveSocketConsumer", accounts: AccountsSnapshot) -> None:
    """Apply ``accounts`` to ``socket``: close it, re-render it, or leave it as it is."""
    if socket.credentials is None or not socket.outbox.open:
        return
    refusal = accounts.refusal(socket.credentials)
    if refusal is not None:
        socket.refuse(ErrorCode.AUTH_FAILED, refusal)
    elif accounts.is_staff(socket.credentials.user_pk) != socket.user_is_staff:
        await _rights_changed(socket)


async def _rights_changed(socket: "LiveSocketConsumer") -> None:
    assert socket.credentials is not None
    user = await database_call(load_user)(socket.credentials.user_pk)
    if user is None:
        socket.refuse(ErrorCode.AUTH_FAILED, "This account is no longer active.")
        return
    socket.scope["user"], socket.user_is_staff, socket.audiences = user, user.is_staff, audience.audiences_of(user)
    for member in socket.members:
        member.feed.subscription = subscription = member.feed.subscription.seen_by(socket.audiences)
        if subscription.filter_params and not await _filter_allowed(subscription, user):
            _filter_revoked(socket, subscription.channel)


async def _filter_allowed(subscription: Subscription, user: Any) -> bool:
    try:
        live_model = live_models.for_channel(subscription.channel)
        await database_call(subscription.filter_params.parse)(live_model, user)
    except InvalidFilter:
        return False
    return True


def _filter_revoked(socket: "LiveSocketConsumer", channel: str) -> None:
    """On a channel URL the socket ends 4401; on /ws/ only that subscription, with an error frame naming it."""
    if channel == socket.url_channel:
        socket.refuse(ErrorCode.AUTH_FAILED, "Your rights changed: this channel's filter is no longer allowed.")
    elif socket.members.leave(channel):
        message = "Your rights changed: this subscription's filter is no longer allowed."
        socket.refuse_subscription(Refused(ErrorCode.AUTH_FAILED, message), channel)
