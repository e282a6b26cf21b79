"""
layer/transport.py on a real Redis: the layer's subscriptions are a process's own state on
the pub/sub layer, so what comes and goes (sockets, /readyz probes) must leave none
behind, and a probe that gives up must not break the next.
"""

import asyncio

import httpx
import pytest
import redis
from django.test import override_settings

from broadcasting.layer.transport import layer_round_trip
from testing.redis_server import redis_channel_layers
from testing.sockets import Socket

pytestmark = pytest.mark.redis

PROBE_CHANNEL_PREFIX = "asgispecific."  # channels-redis's default prefix, then new_channel()'s


async def test_probes_one_after_another_or_at_once_share_one_subscription(own_redis):
    redis_server = own_redis()
    admin = redis.Redis.from_url(redis_server.url, decode_responses=True)
    with override_settings(CHANNEL_LAYERS=redis_channel_layers(redis_server.url)):
        for _ in range(20):
            await layer_round_trip(2)
        await asyncio.gather(*(layer_round_trip(2) for _ in range(20)))
        channels = admin.pubsub_channels()
    assert len(channels) == 1 and channels[0].startswith(PROBE_CHANNEL_PREFIX), channels


async def test_a_probe_that_gave_up_on_a_frozen_redis_leaves_the_next_one_working(own_redis):
    redis_server = own_redis()
    admin = redis.Redis.from_url(redis_server.url, decode_responses=True)
    with override_settings(CHANNEL_LAYERS=redis_channel_layers(redis_server.url)):
        await layer_round_trip(2)
        redis_server.freeze()
        try:
            with pytest.raises(TimeoutError):
                await layer_round_trip(0.5)
        finally:
            redis_server.thaw()
        await layer_round_trip(5)  # the stale answer, if it comes, is skipped
        await layer_round_trip(2)
        assert len(admin.pubsub_channels()) == 1


@pytest.mark.live_server
async def test_sockets_coming_and_going_and_readiness_probes_leave_no_subscription_behind(live_stack, own_redis):
    redis_server = own_redis()
    stack = live_stack(redis_url=redis_server.url)
    server = stack.start_server("serve")
    admin = redis.Redis.from_url(redis_server.url, decode_responses=True)
    layer_prefix = "realtime:db0:layer"

    socket = await Socket.open(f"{server.ws_url}/ws/posts")
    await socket.connected()
    # One socket's channel: its group, and the process's member of it.
    channels = admin.pubsub_channels()
    assert f"{layer_prefix}__group__live.posts" in channels and len(channels) == 2, channels
    await socket.close()
    for _ in range(20):
        socket = await Socket.open(f"{server.ws_url}/ws/posts")
        await socket.connected()
        await socket.close()
    async with httpx.AsyncClient(base_url=server.http_url, timeout=10) as http:
        for _ in range(20):
            assert (await http.get("/readyz")).status_code == 200

    # A channel's tasks stop a moment after its last socket closes.
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    while len(channels := admin.pubsub_channels()) != 1 and loop.time() < deadline:
        await asyncio.sleep(0.1)
    assert len(channels) == 1 and channels[0].startswith(f"{layer_prefix}specific."), channels  # the probe's
