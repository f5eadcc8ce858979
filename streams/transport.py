"""Faust's aiokafka transport with the consumer's fetch wait taken from settings.

Faust's aiokafka driver creates the worker's consumer with ``fetch_max_wait_ms``
hard-coded to 1,500 ms. On a broker that holds a fetch until that wait runs out
(the embedded Tansu broker does, even with data waiting), every hop of an alert
(touchpoints, then alert-events) costs up to that long. This transport creates
the same consumer with the configured wait instead. It also seeks to the committed
offsets with the flow stopped (see ``_Consumer.perform_seek``), reads a partition
again from a hole in its offsets, and commits nothing past such a hole until what was
set aside past it is processed (see streams.continuity). Table recovery reads each
changelog to the end a fetch finds, not only the one the broker reports (see
streams.log_end).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import cached_property
from typing import Any

import aiokafka
import faust
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP

from streams.continuity import OffsetContinuity

logger = logging.getLogger(__name__)

# Blocking (run in a thread): the changelog end offsets checked, see streams.log_end.
LogEndProbe = Callable[[Mapping[TP, int]], Mapping[TP, int]]

# Longer than a fetch (Faust's getmany waits at most 1 s) and the handing over of one message.
DRAIN_LOOP_WAIT_SECONDS = 5.0


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> aiokafka.AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        # aiokafka hands this to its fetcher when the consumer starts; Faust passes no
        # other way to set it. tests/unit/test_transport.py checks the attribute exists.
        consumer._fetch_max_wait_ms = self.app.fetch_max_wait_ms
        return consumer


class _Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> _ConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def perform_seek(self) -> None:
        """Seek to the committed offsets with the flow stopped.

        After a rebalance Faust's recovery resumes the stream partitions, with the
        flow still running from reading the changelogs, and only then awaits this
        seek. Records fetched from the old position meanwhile reached the agent and
        moved Faust's read offsets, and an offset went missing: the agent was handed
        564 then 566 (rebalance test, a stream processor logging each offset). The
        same race as faust-streaming#216. Stopping the flow first makes the drain loop
        drop what it fetched before the seek; Faust's callers resume the flow after it.
        """
        with self._flow_stopped():
            await super().perform_seek()
            # The committed offsets are the read offsets now: they are due next.
            self.app.offset_continuity.after_seek(await self._due_after_seek())

    async def _due_after_seek(self) -> dict[TP, int | None]:
        """The offset due next from each partition: the committed one, or for a
        partition without one the first in its log (the consumer reads from the earliest).

        Without a committed offset Faust has nothing to seek back to, so records
        fetched while the flow was stopped are dropped for good, and the first message
        handed over is far into the log: the SIGKILL test's restarted worker began at
        offsets 392 and 161 and lost the 488 events before them.
        """
        due = dict(self._read_offset)
        missing = [tp for tp, offset in due.items() if offset is None]
        if missing:
            try:
                due.update(await self.earliest_offsets(*missing))
            except Exception as exc:  # noqa: BLE001 - without them holes there go unseen, as before
                logger.warning("could not read the earliest offsets of %d partitions: %r", len(missing), exc)
        return due

    async def reread_from(self, tp: TP, offset: int) -> None:
        """Read ``tp`` again from ``offset`` (a hole: see streams.continuity).

        The flow stays stopped until Faust's drain loop is back waiting for it. A drain
        loop let go mid-batch hands over the rest of what it fetched before the seek and
        moves Faust's read offset past it; the records read again from ``offset`` are
        then dropped as already read. The SIGKILL test stalled so: a hole at 161, the
        seek, then records up to 313 handed over and the read offset left at 313, and
        161-313 never came again.

        If the drain loop was waiting on a fetch when the flow stopped, Faust's getmany
        drops what that fetch brought and seeks every partition back to its committed
        offset (through :meth:`perform_seek`, so the offsets due start again from there
        too). What comes again is skipped as already absorbed. In a worker's log this
        shows as an offset due going back: a hole at 1212 read again, then one at 1129,
        the committed offset (in the log of a kill loop run of 2026-12-07). The other
        partitions go back to what the drain loop handed over (:meth:`_seek_back_to_handed`).
        """
        async with self._reread_lock:  # the agents and the timer's retries, one at a time
            was_active = self.flow_active
            self._drain_loop_waits.clear()
            with self._flow_stopped():
                if was_active:
                    await self._until_drain_loop_waits(tp, offset)
                await self.seek(tp, offset)
                if was_active:
                    await self._seek_back_to_handed(skip=tp)

    async def _seek_back_to_handed(self, skip: TP) -> None:
        """Seek every other partition the hole checks watch back to the last offset the
        drain loop handed over.

        The drain loop, let go mid-batch by the stop, drops the rest of what it fetched
        for every partition, and the consumer's position stays past those records. Only
        a later message would reveal the gap, and a partition with nothing more to come
        has none: in the SIGKILL test's stall (5 of 91 loop runs, 2026-12-07) a worker
        had handed over touchpoints:0 up to 262 with its position at 314, the log's end,
        for 90 s. Reading the last one handed again costs at most one redelivery, which
        the engine skips; it may not have reached the agent (the stop cancels a
        hand-over in progress), and Faust's read offset is the next one due after a
        seek. A partition nothing was handed from since its seek goes back to its
        offset due. The control topic is not watched, and a command read twice would
        be applied twice, so it is left where it is.
        """
        targets = self.app.offset_continuity.due_offsets()
        targets.pop(skip, None)
        if not targets:
            return
        assigned = self.assignment()
        for tp, due in targets.items():
            if tp not in assigned:
                continue
            handed = self._read_offset.get(tp)
            try:
                await self.seek(tp, due if handed is None else handed)
            except Exception as exc:  # noqa: BLE001 - revoked meanwhile: its new owner reads it
                logger.debug("could not seek %s back: %r", tp, exc)

    async def _until_drain_loop_waits(self, tp: TP, offset: int) -> None:
        try:
            await asyncio.wait_for(self._drain_loop_waits.wait(), timeout=DRAIN_LOOP_WAIT_SECONDS)
        except asyncio.TimeoutError:
            logger.warning("Faust's drain loop did not stop within %.0f s; reading %s again from %s anyway",
                           DRAIN_LOOP_WAIT_SECONDS, tp, offset)

    @cached_property
    def _drain_loop_waits(self) -> asyncio.Event:
        return asyncio.Event()

    @cached_property
    def _reread_lock(self) -> asyncio.Lock:
        return asyncio.Lock()

    async def _wait_next_records(self, timeout: float) -> Any:
        if not self.flow_active:
            # Faust's drain loop is done with the records it fetched before the flow
            # stopped (it drops the rest); it waits here for the flow to resume.
            self._drain_loop_waits.set()
        return await super()._wait_next_records(timeout)

    @contextmanager
    def _flow_stopped(self) -> Iterator[None]:
        """Stop the flow; resume it afterwards only if it was running (a caller that
        stopped it resumes it itself)."""
        was_active = self.flow_active
        self.stop_flow()
        try:
            yield
        finally:
            if was_active:
                self.resume_flow()

    def _new_offset(self, tp: TP) -> int | None:
        """Faust's next offset to commit, held back while messages set aside past a hole
        wait to come again (:meth:`OffsetContinuity.commit_limit`).

        Faust would commit past them: they are acked with their batch, and Faust fills
        the jump it was handed with a gap it takes for empty. The SIGKILL test lost
        131 events so: the worker was handed offset 94 where 1 was due, set 94 aside,
        and was killed after Faust had committed past offsets 1-93.
        """
        offset = super()._new_offset(tp)
        limit = self.app.offset_continuity.commit_limit(tp)
        if offset is None or limit is None or offset <= limit:
            return offset
        committed = self._committed_offset.get(tp)
        return limit if committed is None or limit > committed else None

    async def highwaters(self, *partitions: TP) -> Mapping[TP, int]:
        """The end offsets Faust's recovery reads changelogs up to, checked by a fetch
        (see streams.log_end: the embedded broker reports them short)."""
        reported = await super().highwaters(*partitions)
        probe = self.app.log_end_probe
        if probe is None:
            return reported
        try:
            return await asyncio.to_thread(probe, reported)
        except Exception as exc:  # noqa: BLE001 - recovery goes on as Faust would, and says so
            logger.warning("could not check the changelog end offsets by a fetch: %r", exc)
            return reported

    async def accept_hole(self, tp: TP, start: int, end: int) -> None:
        """Offsets ``start`` to ``end - 1`` hold no records: commits may pass them."""
        await self._add_gap(tp, start, end - 1)


class _Transport(faust_aiokafka.Transport):
    Consumer = _Consumer


class App(faust.App):
    """A ``faust.App`` whose worker consumer waits at most ``fetch_max_wait_ms`` per fetch,
    knows which offset of each source partition is due next, and recovers tables up to
    the changelog ends ``log_end_probe`` finds."""

    def __init__(
        self, *args: Any, fetch_max_wait_ms: int = 1500, log_end_probe: LogEndProbe | None = None, **kwargs: Any
    ) -> None:
        self.fetch_max_wait_ms = fetch_max_wait_ms
        self.log_end_probe = log_end_probe
        self.offset_continuity = OffsetContinuity()
        super().__init__(*args, **kwargs)

    @cached_property
    def _event_class(self) -> Any:
        # Faust looks up conf.Event for every message, through its settings registry's
        # __getattribute__ and a descriptor; the class does not change once configured.
        return self.conf.Event

    def create_event(self, key: Any, value: Any, headers: Any, message: Any) -> Any:
        return self._event_class(self, key, value, headers, message)

    def _new_transport(self) -> _Transport:
        return _Transport(self.conf.broker_consumer, self)
