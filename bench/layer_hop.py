"""
The channel layer's own hop, alone in one idle process: a group_send of one event-sized
message to a group with one member in this process, then its receive, for each Redis
layer of channels-redis (the default RedisChannelLayer and the pub/sub layer the
project uses). Reports, per layer, the median group_send, the median send-then-receive
and the CPU per message. The layers use a prefix of their own on the given Redis and
delete nothing else.

    .venv/bin/python bench/layer_hop.py [--redis redis://127.0.0.1:6379/0] [--messages 500] [--rounds 2]
"""

import argparse
import asyncio
import json
import statistics
import time
import uuid

from channels_redis.core import RedisChannelLayer
from channels_redis.pubsub import RedisPubSubChannelLayer

MESSAGE = {"type": "live.event", "channel": "users", "seq": 1, "renderings": {"public": "x" * 300}}
WARM_UP_MESSAGES = 20


async def measure(layer, messages: int) -> dict:
    member = await layer.new_channel()
    await layer.group_add("hop", member)
    for _ in range(WARM_UP_MESSAGES):
        await layer.group_send("hop", MESSAGE)
        await layer.receive(member)
    sends, round_trips = [], []
    cpu_before = time.process_time()
    for _ in range(messages):
        started = time.perf_counter()
        await layer.group_send("hop", MESSAGE)
        sent = time.perf_counter()
        await layer.receive(member)
        sends.append(sent - started)
        round_trips.append(time.perf_counter() - started)
    cpu_secs = time.process_time() - cpu_before
    await layer.group_discard("hop", member)
    return {
        "group_send_p50_ms": round(statistics.median(sends) * 1e3, 3),
        "send_receive_p50_ms": round(statistics.median(round_trips) * 1e3, 3),
        "cpu_us_per_message": round(cpu_secs / messages * 1e6),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=2)
    arguments = parser.parse_args()
    hosts = [{"address": arguments.redis}]
    for round_number in range(arguments.rounds):
        for layer_class in (RedisChannelLayer, RedisPubSubChannelLayer):
            layer = layer_class(hosts=hosts, prefix=f"bench-hop-{uuid.uuid4().hex[:8]}")
            result = await measure(layer, arguments.messages)
            await layer.flush()
            print(json.dumps({"layer": layer_class.__name__, "round": round_number, **result}))


if __name__ == "__main__":
    asyncio.run(main())
