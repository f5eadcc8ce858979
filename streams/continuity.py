"""Holes in the offsets Faust hands the agent, found and read again.

kohta's state remembers, per channel, the newest source offset it has absorbed, and
skips anything at or below it as a redelivery. That is only right if every offset
of a partition reaches the agent in order. Around a rebalance Faust does not always
deliver them so: in the rebalance test a worker that kept its partition through a
rebalance was handed offset 166, then 168 (the committed offset was 167), so event
167 was never counted, and a later redelivery of it would have been taken for a
replay.

:class:`OffsetContinuity` knows the next offset due from each source partition: the
committed offset after each seek to it, then one past each message. A message past
it is a hole: the processor sets that partition's messages aside (they come again)
and has the consumer read again from the hole, at most once per ``retry_seconds``
(records fetched before the seek may still arrive meanwhile). A hole still there
after ``max_rereads`` reads holds no records (a transaction marker, a compacted
record) and is accepted.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass


@dataclass(slots=True)
class _Hole:
    offset: int
    rereads: int
    last_reread: float


class OffsetContinuity:
    """The next offset due per source partition, and the holes being read again.

    >>> clock = iter(range(0, 1000, 10)).__next__  # 10 s between calls
    >>> due = OffsetContinuity(max_rereads=2, retry_seconds=5, clock=clock)
    >>> due.after_seek({"p0": 167})
    >>> due.check("p0", 168)  # 167 never came: set 168 aside, read again from 167
    ('reread', 167)
    >>> due.check("p0", 167), due.check("p0", 168)
    (('process', None), ('process', None))
    >>> due.check("p0", 150)  # a redelivery: the engine skips what it has absorbed
    ('process', None)
    >>> [due.check("p0", 171) for _ in range(3)]  # 169 and 170 hold no records
    [('reread', 169), ('reread', 169), ('process_past_hole', 169)]
    """

    def __init__(
        self, max_rereads: int = 5, retry_seconds: float = 1.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_rereads = max_rereads
        self.retry_seconds = retry_seconds
        self._clock = clock
        self._due: dict[Hashable, int] = {}
        self._holes: dict[Hashable, _Hole] = {}

    def after_seek(self, committed: Mapping[Hashable, int | None]) -> None:
        """The consumer went back to these committed offsets: they are due next."""
        for tp, offset in committed.items():
            if offset is not None and offset >= 0:
                self._due[tp] = offset
            else:
                self._due.pop(tp, None)

    def forget(self, tp: Hashable) -> None:
        self._due.pop(tp, None)
        self._holes.pop(tp, None)

    def check(self, tp: Hashable, offset: int) -> tuple[str, int | None]:
        """``("process", None)`` if the message at ``offset`` may be processed (it
        becomes the newest seen); ``("reread", hole)`` if it is past a hole and the
        consumer is to read ``tp`` again from ``hole``; ``("set_aside", hole)`` if a
        read from ``hole`` was asked for moments ago; ``("process_past_hole", hole)``
        if the hole is accepted as holding no records."""
        due = self._due.get(tp)
        if due is not None and offset > due:
            hole = self._holes.get(tp)
            now = self._clock()
            if hole is None or hole.offset != due:
                self._holes[tp] = _Hole(due, 1, now)
                return "reread", due
            if hole.rereads < self.max_rereads:
                if now - hole.last_reread < self.retry_seconds:
                    return "set_aside", due
                hole.rereads += 1
                hole.last_reread = now
                return "reread", due
            del self._holes[tp]  # read again and again: nothing is there
            self._due[tp] = offset + 1
            return "process_past_hole", due
        if due is not None and offset == due:
            self._holes.pop(tp, None)
        if due is None or offset >= due:
            self._due[tp] = offset + 1
        return "process", None
