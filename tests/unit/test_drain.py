"""The drain loop hands a message over without tasks when it can, and like Faust when it must wait."""

from __future__ import annotations

import asyncio

import pytest
from mode import Service

from streams.drain import deliver


class _Consumer(Service):
    """What ``deliver`` uses of Faust's consumer: its callback, suspend_flow and wait_first."""

    def __init__(self, callback) -> None:
        super().__init__()
        self.callback = callback
        self.suspend_flow = asyncio.Event()
        self.waited = 0

    async def wait_first(self, *coros, **kwargs):
        self.waited += 1
        return await super().wait_first(*coros, **kwargs)


def test_a_delivery_that_does_not_wait_makes_no_tasks():
    delivered = []

    async def on_message(message):
        delivered.append(message)

    async def run():
        consumer = _Consumer(on_message)
        tasks_before = len(asyncio.all_tasks())
        await deliver(consumer, "m1")
        return consumer.waited, len(asyncio.all_tasks()) - tasks_before

    waited, new_tasks = asyncio.run(run())
    assert delivered == ["m1"]
    assert (waited, new_tasks) == (0, 0)


def test_a_delivery_that_waits_is_resumed_where_it_stopped():
    steps = []

    async def on_message(message):
        steps.append("before")
        value = await room.get()  # a full queue: waits for the agent
        await asyncio.sleep(0)
        steps.append(("after", message, value))
        return value

    async def run():
        nonlocal room
        room = asyncio.Queue()
        consumer = _Consumer(on_message)
        delivery = asyncio.ensure_future(deliver(consumer, "m2"))
        await asyncio.sleep(0.01)
        assert steps == ["before"]
        room.put_nowait("space")
        await asyncio.wait_for(delivery, 1)
        return consumer.waited

    room = None
    assert asyncio.run(run()) == 1
    assert steps == ["before", ("after", "m2", "space")]


def test_an_error_after_waiting_reaches_the_drain_loop():
    async def on_message(message):
        await asyncio.sleep(0.001)
        raise ValueError(message)

    async def run():
        await deliver(_Consumer(on_message), "bad")

    with pytest.raises(ValueError, match="bad"):
        asyncio.run(run())


def test_suspended_flow_abandons_a_waiting_delivery_as_faust_does():
    abandoned = []

    async def on_message(message):
        try:
            await asyncio.Event().wait()  # flow control closed: would wait for ever
        except asyncio.CancelledError:
            abandoned.append(message)
            raise

    async def run():
        consumer = _Consumer(on_message)
        delivery = asyncio.ensure_future(deliver(consumer, "m3"))
        await asyncio.sleep(0.01)
        consumer.suspend_flow.set()  # a rebalance begins
        await asyncio.wait_for(delivery, 1)
        await asyncio.sleep(0)

    asyncio.run(run())
    assert abandoned == ["m3"]
