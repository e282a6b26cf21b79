"""sockets/members.py: a socket's subscriptions join the hub once and leave it once, whatever ends them."""

import asyncio
from types import SimpleNamespace

import pytest

from broadcasting.delivery.fanout import process_fanout
from broadcasting.delivery.subscription import Subscription
from broadcasting.live import audience
from broadcasting.sockets.members import ChannelMember, Memberships

pytestmark = pytest.mark.django_db(transaction=True)


class OpenOutbox:
    open = True

    def push(self, text: str) -> bool:
        return True


def member_of(memberships: Memberships, channel: str = "posts") -> ChannelMember:
    socket = SimpleNamespace(user_pk=None, members=memberships, outbox=OpenOutbox())
    return ChannelMember(socket, Subscription(channel, (audience.PUBLIC,), frozenset()), socket.outbox)  # type: ignore[arg-type]


async def test_a_joined_member_is_in_the_hub_until_it_leaves():
    memberships = Memberships()
    member = member_of(memberships)
    assert await memberships.join(member)
    assert "posts" in memberships and member in process_fanout.sockets()
    assert memberships.leave("posts") and not memberships.leave("posts")
    assert member not in process_fanout.sockets()
    await asyncio.sleep(0)


async def test_a_member_left_while_joining_is_not_left_in_the_hub():
    memberships = Memberships()
    member = member_of(memberships)
    joining = asyncio.create_task(memberships.join(member))
    await asyncio.sleep(0)
    memberships.leave("posts")  # an unsubscribe, or the socket closing, meanwhile
    assert not await joining
    assert member not in process_fanout.sockets()


async def test_leaving_all_leaves_every_channel():
    memberships = Memberships()
    members = [member_of(memberships, channel) for channel in ("posts", "users")]
    for member in members:
        assert await memberships.join(member)
    memberships.leave_all()
    assert list(memberships) == [] and not any(member in process_fanout.sockets() for member in members)
