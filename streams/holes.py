"""Carrying out :class:`~streams.continuity.OffsetContinuity`'s verdicts for one batch.

Messages past a hole are set aside (they come again). Only after the batch's state is
flushed does the consumer read again from each hole, and a hole read again and again
with nothing found is let through for commits. Both agents that read a topic with
per-key state use it: the processor and the alert publisher.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from faust.types import TP
from faust.types.tuples import Message
from prometheus_client import Counter

from streams.continuity import OffsetContinuity

log = logging.getLogger(__name__)

Reread = Callable[[TP, int], Awaitable[None]]
AcceptHole = Callable[[TP, int, int], Awaitable[None]]


class HoleWatch:
    """Looks for holes in the offsets handed to an agent; one :meth:`batch` per batch."""

    def __init__(
        self, continuity: OffsetContinuity, counter: Counter, reread: Reread, accept_hole: AcceptHole | None = None
    ) -> None:
        self.continuity = continuity
        self.counter = counter  # kohta_offset_holes_total{topic, outcome}
        self.reread = reread
        self.accept_hole = accept_hole

    def batch(self) -> BatchHoles:
        return BatchHoles(self)

    async def read_overdue_again(self) -> None:
        """Read again from each hole nothing has come from since it was last read again
        (see :meth:`OffsetContinuity.overdue`); call it from a timer."""
        for tp, hole in self.continuity.overdue():
            log.warning("nothing came from offset %s of %s:%s after reading again from it; reading again",
                        hole, tp.topic, tp.partition)
            self.counter.labels(topic=tp.topic, outcome="reread").inc()
            await self.reread(tp, hole)


class BatchHoles:
    def __init__(self, watch: HoleWatch) -> None:
        self._watch = watch
        self._rereads: dict[TP, int] = {}  # partitions to read again, from the hole
        self._set_aside: set[TP] = set()
        self._empty_holes: list[tuple[TP, int, int]] = []  # read again, and nothing came

    def sets_aside(self, message: Message) -> bool:
        """Whether ``message`` is past a hole in its partition's offsets. It is then not
        to be processed: it comes again when the partition is read again from the hole."""
        tp = message.tp
        if tp not in self._set_aside:
            verdict, hole = self._watch.continuity.check(tp, message.offset)
            if verdict == "process":
                return False
            if verdict == "process_past_hole":
                log.warning("offsets %s to %s of %s:%s never came after reading again: taken as holding "
                            "no records", hole, message.offset - 1, message.topic, message.partition)
                self._empty_holes.append((tp, hole, message.offset))  # type: ignore[arg-type]
                return False
            self._set_aside.add(tp)
            if verdict == "reread":
                self._rereads[tp] = hole  # type: ignore[assignment]
                log.warning("offsets of %s:%s skipped from %s to %s; reading again from %s",
                            message.topic, message.partition, hole, message.offset, hole)
        self._watch.continuity.set_aside(tp, message.offset)
        self._watch.counter.labels(
            topic=message.topic, outcome="reread" if tp in self._rereads else "set_aside").inc()
        return True

    async def read_again(self) -> None:
        """After the batch is flushed: read again from each hole found, let empty ones be."""
        for tp, hole in self._rereads.items():
            await self._watch.reread(tp, hole)
        if self._watch.accept_hole is not None:
            for tp, start, end in self._empty_holes:
                await self._watch.accept_hole(tp, start, end)
