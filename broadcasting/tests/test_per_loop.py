"""PerLoop (per_loop.py): one object per event loop, made there on first use, dropped with its loop."""

import asyncio
import gc

from broadcasting.per_loop import PerLoop


async def test_one_object_per_loop_made_once_with_its_loop():
    made: list[asyncio.AbstractEventLoop] = []
    per_loop = PerLoop(lambda loop: made.append(loop) or object())
    here = per_loop.get()
    assert per_loop.get() is here and per_loop.get(asyncio.get_running_loop()) is here
    elsewhere = await asyncio.to_thread(asyncio.run, _get(per_loop))
    assert elsewhere is not here
    assert made[0] is asyncio.get_running_loop() and len(made) == 2


def test_an_object_goes_with_its_loop():
    per_loop = PerLoop(lambda loop: object())
    loop = asyncio.new_event_loop()
    per_loop.get(loop)
    loop.close()
    del loop
    gc.collect()
    assert len(per_loop._by_loop) == 0


async def _get(per_loop: PerLoop) -> object:
    return per_loop.get()
