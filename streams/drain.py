"""Faust's consumer drain loop without a set of tasks per message.

Faust's ``Consumer._drain_messages`` hands every fetched message to the conductor
through ``Service.wait_first(callback(message), suspend_flow.wait())``, so that a
rebalance can abandon a delivery stuck behind a full stream queue or suspended flow
control. ``wait_first`` wraps each of its awaitables in a task (four per message) and
runs ``asyncio.wait`` over them: more than half of a bare Faust agent's CPU per
single-event message on the embedded broker (``benchmarks/README.md``).

Here the conductor's coroutine is first stepped by hand. Delivering to a queue with
room, with flow control open, finishes without suspending, and then no task is made.
Only a delivery that does suspend is handed to ``wait_first``, resumed from where it
stopped, so a rebalance can still abandon it exactly as in Faust. Everything else
(read offsets, gaps, commit-every, flags, errors) is the loop of faust-streaming
0.15 (pinned in pyproject.toml) unchanged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Generator
from typing import Any

from faust.transport.consumer import CONSUMER_FETCHING

# Faust yields to the event loop this often in a long fetched batch.
_YIELD_EVERY = 100


class _Resume:
    """Await a coroutine that was stepped by hand and suspended on ``pending``.

    Speaks the coroutine protocol a task speaks: what the task sends or throws in goes
    to the inner coroutine, what the inner one yields goes out to the task.
    """

    __slots__ = ("_coro", "_pending")

    def __init__(self, coro: Coroutine[Any, Any, Any], pending: Any) -> None:
        self._coro = coro
        self._pending = pending

    def __await__(self) -> Generator[Any, Any, Any]:
        yielded = self._pending
        while True:
            try:
                sent = yield yielded
            except GeneratorExit:
                self._coro.close()
                raise
            except BaseException as thrown:  # noqa: BLE001 - the task's cancel goes inside
                try:
                    yielded = self._coro.throw(thrown)
                except StopIteration as done:
                    return done.value
            else:
                try:
                    yielded = self._coro.send(sent)
                except StopIteration as done:
                    return done.value


async def deliver(consumer: Any, message: Any) -> None:
    """Hand one message to the conductor, making tasks only if the delivery has to wait."""
    coro = consumer.callback(message)
    try:
        pending = coro.send(None)
    except StopIteration:
        return
    await consumer.wait_first(_Resume(coro, pending), consumer.suspend_flow.wait())


async def drain_messages(consumer: Any, fetcher: Any) -> None:
    """``Consumer._drain_messages`` of faust-streaming 0.15, delivering through :func:`deliver`."""
    getmany = consumer.getmany
    consumer_should_stop = consumer._stopped.is_set
    fetcher_should_stop = fetcher._stopped.is_set
    get_read_offset = consumer._read_offset.__getitem__
    set_read_offset = consumer._read_offset.__setitem__
    set_flag, unset_flag = consumer.diag.set_flag, consumer.diag.unset_flag
    commit_every = consumer._commit_every
    acks_enabled_for = consumer.app.topics.acks_enabled_for
    since_yield = 0
    try:
        while not (consumer_should_stop() or fetcher_should_stop()):
            set_flag(CONSUMER_FETCHING)
            fetched = getmany(timeout=1.0)
            # getmany can return at once many times over; let other tasks run.
            await consumer.sleep(0)
            if not consumer.should_stop:
                async for tp, message in fetched:
                    since_yield += 1
                    if since_yield > _YIELD_EVERY:
                        await asyncio.sleep(0)
                        since_yield = 0
                    offset = message.offset
                    read_offset = get_read_offset(tp)
                    if read_offset is None or offset >= read_offset:
                        if offset - (read_offset or 0) > 1 and read_offset and acks_enabled_for(message.topic):
                            await consumer._add_gap(tp, read_offset + 1, offset)
                        if commit_every is not None and consumer._n_acked >= commit_every:
                            consumer._n_acked = 0
                            await consumer.commit()
                        await deliver(consumer, message)
                        set_read_offset(tp, offset)
                unset_flag(CONSUMER_FETCHING)
    except consumer.consumer_stopped_errors:
        if consumer.transport.app.should_stop:
            consumer.log.info("Broker stopped consumer, shutting down...")
            return
        raise
    except asyncio.CancelledError:
        if consumer.transport.app.should_stop:
            consumer.log.info("Consumer shutting down for user cancel.")
            return
        raise
    except Exception as exc:
        consumer.log.exception("Drain messages raised: %r", exc)
        raise
    finally:
        unset_flag(CONSUMER_FETCHING)
