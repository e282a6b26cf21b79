"""sockets/subscribe.py: a channel URL and a subscribe frame are read into one subscription by one parser."""

import pytest

from broadcasting.live import audience
from broadcasting.sockets.handshake import Refused
from broadcasting.sockets.subscribe import from_frame, from_query, subscription_for
from broadcasting.wire.protocol import ErrorCode

PUBLIC = (audience.PUBLIC,)
OWN = frozenset({"tab-1"})

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_channel_url_and_a_subscribe_frame_make_the_same_subscription(django_user_model):
    author = await django_user_model.objects.acreate(email="a@example.com")
    from_url = await subscription_for(
        from_query("posts", None, f"since=4&epoch=e1&published=true&author={author.pk}&client_id=tab-1".encode()),
        None,
        PUBLIC,
        OWN,
    )
    from_subscribe = await subscription_for(
        from_frame(
            {
                "type": "subscribe",
                "channel": "posts",
                "since": 4,
                "epoch": "e1",
                "filter": {"published": True, "author": author.pk},
            }
        ),
        None,
        PUBLIC,
        OWN,
    )
    assert from_url == from_subscribe
    assert from_url.since == 4 and from_url.epoch == "e1" and from_url.live_filter is not None


async def test_one_object_of_a_channel_url_is_its_filter():
    subscription = await subscription_for(from_query("posts", "12", b""), None, PUBLIC, OWN)
    assert subscription.filter_params.object_pk == "12" and subscription.filtered


@pytest.mark.parametrize(
    ("request_", "code"),
    [
        (from_query("nope", None, b""), ErrorCode.UNKNOWN_CHANNEL),
        (from_frame({"channel": ["posts"]}), ErrorCode.UNKNOWN_CHANNEL),
        (from_query("users", None, b""), ErrorCode.AUTH_REQUIRED),
        (from_query("posts", None, b"since=-1"), ErrorCode.INVALID_SINCE),
        (from_frame({"channel": "posts", "since": True}), ErrorCode.INVALID_SINCE),
        (from_frame({"channel": "posts", "since": "3"}), ErrorCode.INVALID_SINCE),
        (from_query("posts", None, b"epoch=no%20spaces"), ErrorCode.INVALID_EPOCH),
        (from_frame({"channel": "posts", "filter": ["author", 3]}), ErrorCode.INVALID_FILTER),
        (from_frame({"channel": "posts", "filter": {"author": {"id": 3}}}), ErrorCode.INVALID_FILTER),
        (from_query("posts", None, b"colour=red"), ErrorCode.INVALID_FILTER),
        (from_query("posts", None, b"&".join(b"p%d=1" % n for n in range(200))), ErrorCode.INVALID_FILTER),
    ],
)
async def test_a_malformed_subscription_is_refused_with_its_code(request_, code):
    with pytest.raises(Refused) as refused:
        await subscription_for(request_, None, PUBLIC, OWN)
    assert refused.value.code == code
