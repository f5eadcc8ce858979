"""Holes in the offsets Faust hands the agent, found and read again.

kohta's state remembers, per channel, the newest source offset it has absorbed, and
skips anything at or below it as a redelivery. That is only right if every offset
of a partition reaches the agent in order. Around a rebalance Faust does not always
deliver them so: in the rebalance test a worker that kept its partition through a
rebalance was handed offset 166, then 168 (the committed offset was 167), so event
167 was never counted, and a later redelivery of it would have been taken for a
replay.

:class:`OffsetContinuity` knows the next offset due from each source partition: the
committed offset after each seek to it (the log's first offset where nothing is
committed), then one past each message. A message past it is a hole: the processor
sets that partition's messages aside (they come again) and has the consumer read again
from the hole. Until everything set aside is processed, commits go no further than
the offset due (:meth:`OffsetContinuity.commit_limit`).

Some holes hold no records: a transaction marker of an upstream transactional
producer takes an offset, and so does a record removed by compaction. Reading again
from such a hole brings back the same first message past it. When that message has
come back ``confirmations`` times, the hole is accepted as empty. That costs one
read again per confirmation, not seconds. Records fetched before a seek may still
arrive meanwhile; they are set aside as well. Failing that (the first message past
the hole never comes back), a hole is read again at most once per ``retry_seconds``,
and accepted after ``max_rereads`` reads. A hole nothing has come past for
``stale_seconds`` after it was read again is read again from a timer
(:meth:`OffsetContinuity.overdue`): a partition with nothing more to hand over would
otherwise never bring the guard back to it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass


@dataclass(slots=True)
class _Hole:
    offset: int
    first_past: int  # the first offset handed over past the hole
    rereads: int
    last_reread: float
    came_back: int = 0  # times first_past came again after reading again

    def read_again(self, now: float) -> None:
        self.rereads += 1
        self.last_reread = now


class OffsetContinuity:
    """The next offset due per source partition, and the holes being read again.

    >>> clock = iter(range(0, 1000, 10)).__next__  # 10 s between calls
    >>> due = OffsetContinuity(max_rereads=3, retry_seconds=5, clock=clock)
    >>> due.after_seek({"p0": 167})
    >>> due.check("p0", 168)  # 167 never came: set 168 aside, read again from 167
    ('reread', 167)
    >>> due.check("p0", 167), due.check("p0", 168)
    (('process', None), ('process', None))
    >>> due.check("p0", 150)  # a redelivery: the engine skips what it has absorbed
    ('process', None)
    >>> [due.check("p0", 171) for _ in range(3)]  # 171 again and again: 169, 170 hold no records
    [('reread', 169), ('reread', 169), ('process_past_hole', 169)]
    """

    def __init__(
        self,
        confirmations: int = 2,
        max_rereads: int = 5,
        retry_seconds: float = 1.0,
        stale_seconds: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.confirmations = confirmations
        self.max_rereads = max_rereads
        self.retry_seconds = retry_seconds
        self.stale_seconds = stale_seconds
        self._clock = clock
        self._due: dict[Hashable, int] = {}
        self._holes: dict[Hashable, _Hole] = {}
        self._ahead: dict[Hashable, int] = {}  # the highest offset set aside, until processed

    def after_seek(self, committed: Mapping[Hashable, int | None]) -> None:
        """The consumer went back to these committed offsets: they are due next."""
        for tp, offset in committed.items():
            self._holes.pop(tp, None)  # looked for again from the committed offset
            if offset is not None and offset >= 0:
                self._due[tp] = offset
            else:
                self._due.pop(tp, None)

    def due_offsets(self) -> dict[Hashable, int]:
        """The next offset due from each partition that has one."""
        return dict(self._due)

    def forget(self, tp: Hashable) -> None:
        # What was set aside stays: Faust may still hold its acks (see commit_limit).
        self._due.pop(tp, None)
        self._holes.pop(tp, None)

    def set_aside(self, tp: Hashable, offset: int) -> None:
        """The message at ``offset`` was not processed: it is to come again."""
        if offset > self._ahead.get(tp, -1):
            self._ahead[tp] = offset

    def commit_limit(self, tp: Hashable) -> int | None:
        """The highest offset that may be committed for ``tp`` (``None``: no limit).

        A message set aside is acked all the same (Faust acks the whole batch), and
        Faust fills the jump it was handed with a gap it takes for empty. So until the
        processor is past every message set aside, a commit may go no further than
        the offset due next: everything below it was processed in order.

        >>> due = OffsetContinuity()
        >>> due.after_seek({"p": 1})
        >>> due.check("p", 94), due.set_aside("p", 94), due.set_aside("p", 95)
        (('reread', 1), None, None)
        >>> due.commit_limit("p")
        1
        >>> [due.check("p", offset)[0] for offset in range(1, 95)].count("process")
        94
        >>> due.commit_limit("p")  # 95 comes again next
        95
        >>> due.check("p", 95), due.commit_limit("p")
        (('process', None), None)
        """
        ahead, due = self._ahead.get(tp), self._due.get(tp)
        if ahead is None:
            return None
        if due is not None and due > ahead:
            del self._ahead[tp]
            return None
        return due

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
                self._holes[tp] = _Hole(due, offset, 1, now)
                return "reread", due
            if offset == hole.first_past:
                # Only a read again brings a message back: the hole came back with it.
                hole.came_back += 1
                if hole.came_back >= self.confirmations:
                    return self._accept(tp, hole, offset)
            elif hole.rereads >= self.max_rereads:
                return self._accept(tp, hole, offset)
            elif now - hole.last_reread < self.retry_seconds:
                return "set_aside", due
            hole.read_again(now)
            return "reread", due
        if due is not None and offset == due:
            self._holes.pop(tp, None)
        if due is None or offset >= due:
            self._due[tp] = offset + 1
        return "process", None

    def overdue(self) -> list[tuple[Hashable, int]]:
        """The holes read again ``stale_seconds`` ago or more and still open: nothing
        at or past them has come since. Each is counted as read again now.

        >>> clock = iter([0, 3, 12, 13]).__next__
        >>> due = OffsetContinuity(stale_seconds=10, clock=clock)
        >>> due.after_seek({"p0": 161})
        >>> due.check("p0", 162)  # at 0 s
        ('reread', 161)
        >>> due.overdue(), due.overdue()  # at 3 s, then at 12 s
        ([], [('p0', 161)])
        >>> due.overdue()  # at 13 s: read again a second ago
        []
        """
        now, found = self._clock(), []
        for tp, hole in self._holes.items():
            if now - hole.last_reread >= self.stale_seconds:
                hole.read_again(now)
                found.append((tp, hole.offset))
        return found

    def _accept(self, tp: Hashable, hole: _Hole, offset: int) -> tuple[str, int | None]:
        del self._holes[tp]
        self._due[tp] = offset + 1
        return "process_past_hole", hole.offset
