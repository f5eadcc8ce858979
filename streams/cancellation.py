"""Finishing a batch when the worker is stopped in the middle of it.

Faust's ``take_events`` acks a batch's messages in a ``finally`` around its
``yield``. When a stopping worker cancels the agent part-way through a batch, the
generator is closed, the ``finally`` acks every message of the batch, and the
consumer commits their offsets on its way out, although the state that absorbed
some of them was never flushed: those events were lost (16 of them in one run of the
rebalance test, when the second worker left with SIGTERM). Finishing the batch,
flush included, before the cancellation goes on keeps state ahead of offsets.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


async def finish_then_cancel(work: Awaitable[T]) -> T:
    """Await ``work``; if this task is cancelled meanwhile, let ``work`` finish
    first, then raise the cancellation.

    >>> async def batch(done):
    ...     await asyncio.sleep(0.01)
    ...     done.append("flushed")
    >>> async def agent(done):
    ...     task = asyncio.ensure_future(finish_then_cancel(batch(done)))
    ...     await asyncio.sleep(0)
    ...     task.cancel()
    ...     try:
    ...         await task
    ...     except asyncio.CancelledError:
    ...         return done
    >>> asyncio.run(agent([]))
    ['flushed']
    """
    task = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        if not task.done():
            # A second cancel while waiting leaves the batch running to its end anyway.
            await asyncio.wait({task})
        raise
