"""Event-time tumbling windows of one channel, kept as a JSON-able dict.

Windows are numbered: window ``i`` covers ``[i * size, (i + 1) * size)``. A window
may close once the partition's watermark (the highest event time seen there)
passes its end plus the allowed lateness; an event for a window that is closed, or
may close, is late. Both rules depend only on arrival order, so a replay of the
same events (the backtest, or a restarted worker) closes the same windows.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from typing import Any

from streams.events import TouchpointEvent
from streams.metric_book import MetricBook, Tally

# After a long silence (a stopped worker, a channel gone for days) closing every
# empty window would flood the detectors; past this many, the oldest are skipped.
MAX_CATCH_UP_WINDOWS = 1440
# Where touchpoints past a channel's cap are counted.
OTHER = "other"


def event_fingerprint(event_id: str) -> int:
    """A stable 53-bit hash of an event id (JSON-safe everywhere, unlike Python's hash)."""
    raw = event_id.encode()
    return ((zlib.crc32(raw) << 32) | zlib.adler32(raw)) >> 11


def window_index(ts: float, size: float) -> int:
    return math.floor(ts / size)


def last_closable_index(watermark: float | None, size: float, lateness: float) -> int | None:
    """The newest window index that may close at ``watermark``."""
    if watermark is None:
        return None
    return math.floor((watermark - lateness) / size) - 1


@dataclass(frozen=True, slots=True)
class ClosedWindow:
    channel: str
    index: int
    start: float
    end: float
    counts: dict[str, list[int]]


class ChannelWindows:
    """The open windows of one channel and the series it has shown.

    State layout (stored in a Faust table as JSON): ``next_close`` is the index of
    the oldest window not yet closed, ``closed_through`` the newest closed one
    (None before the first close), ``open`` maps window index (as a string) to
    that window's counters, ``series`` lists the touchpoint-level series seen,
    ``fp`` holds each open window's event-id fingerprints, or where to find them
    (streams.fingerprints), ``offsets`` the newest source offset absorbed per
    ``"topic:partition"``.
    """

    __slots__ = ("channel", "state", "_touchpoints")

    def __init__(self, channel: str, state: dict[str, Any] | None = None) -> None:
        self.channel = channel
        self.state = state if state is not None else {
            "next_close": None, "closed_through": None, "open": {}, "series": []
        }
        self._touchpoints: set[str] | None = None  # state["touchpoints"] as a set, once asked

    def is_late(self, index: int, closable: int | None) -> bool:
        """Late: the window is closed already, or the watermark lets it close now."""
        closed = self.state.get("closed_through")
        return (closable is not None and index <= closable) or (closed is not None and index <= closed)

    def _capped(self, event: TouchpointEvent, cap: int) -> TouchpointEvent:
        """The event (with a touchpoint), its touchpoint folded into ``other`` once the
        channel has ``cap`` of them."""
        touchpoint = event.touchpoint
        known = self._touchpoints
        if known is None:
            known = self._touchpoints = set(self.state.setdefault("touchpoints", []))
        if touchpoint in known:
            return event
        listed = self.state.setdefault("touchpoints", [])
        if len(listed) < cap:
            listed.append(touchpoint)
            known.add(touchpoint)
            return event
        self.state["touchpoint_overflow"] = self.state.get("touchpoint_overflow", 0) + 1
        return event._replace(touchpoint=OTHER)

    def add(
        self,
        event: TouchpointEvent,
        index: int,
        book: MetricBook,
        closable: int | None,
        max_touchpoints: int | None = None,
    ) -> bool:
        """Count ``event`` into window ``index``; False (nothing counted) if it is late."""
        if self.is_late(index, closable):
            return False
        self.count(event, index, book, max_touchpoints)
        return True

    def count(self, event: TouchpointEvent, index: int, book: MetricBook, max_touchpoints: int | None) -> None:
        """:meth:`add` for a caller that has checked the event is not late."""
        tally = book.tally(self.counters(index))
        self.count_into(tally, event, max_touchpoints)
        tally.settle()

    def counters(self, index: int) -> dict[str, list[float]]:
        """The counters of window ``index``, opened if new. A caller counting many
        events may keep them for the window while nothing closes it."""
        state = self.state
        # The oldest window to close: a new channel starts at its first event, not
        # earlier, so it never reports empty windows from before it was seen.
        nxt = state["next_close"]
        if nxt is None or index < nxt:
            state["next_close"] = index
        windows = state["open"]
        key = str(index)
        counts = windows.get(key)
        if counts is None:
            counts = windows[key] = {}
        return counts

    def count_into(self, tally: Tally, event: TouchpointEvent, max_touchpoints: int | None) -> None:
        """Count a not-late event into its window's ``tally`` (over :meth:`counters`);
        the counters are complete once the tally is settled."""
        if event.touchpoint is not None and max_touchpoints is not None:
            event = self._capped(event, max_touchpoints)
        if tally.add(event):  # only a new counter can be a new series
            known = self.state["series"]
            for key in tally.counts:
                if "@" in key and key not in known:
                    known.append(key)

    def close_through(self, last: int | None, size: float, book: MetricBook) -> list[ClosedWindow]:
        """Close every window up to index ``last``, empty ones included, oldest first."""
        nxt = self.state["next_close"]
        if last is None or nxt is None or last < nxt:
            return []
        windows = self.state["open"]
        if last - nxt >= MAX_CATCH_UP_WINDOWS:
            for key in [k for k in windows if int(k) <= last - MAX_CATCH_UP_WINDOWS]:
                del windows[key]
            nxt = last - MAX_CATCH_UP_WINDOWS + 1
        series = book.base_series(self.channel) + self.state["series"]
        closed = []
        seen = self.state.get("seen", {})
        for key in [k for k in seen if int(k) <= last]:
            del seen[key]
        for index in range(nxt, last + 1):
            counts = windows.pop(str(index), {})
            full = {key: counts.get(key) or book.empty_counts(key) for key in series}
            closed.append(ClosedWindow(self.channel, index, index * size, (index + 1) * size, full))
        self.state["next_close"] = last + 1
        self.state["closed_through"] = last
        return closed

    def legacy_fingerprints(self, index: int) -> list[int]:
        """Fingerprints a version before streams.fingerprints kept in this record
        (``seen``): still honoured until their window closes."""
        return self.state.get("seen", {}).get(str(index), [])

    def has_absorbed(self, source: str, offset: int) -> bool:
        return self.state.get("offsets", {}).get(source, -1) >= offset

    def mark_absorbed(self, source: str, offset: int) -> None:
        offsets = self.state.setdefault("offsets", {})
        if offset > offsets.get(source, -1):
            offsets[source] = offset

    def add_maintenance(self, start: float, end: float) -> None:
        self.state.setdefault("maintenance", []).append([start, end])

    def in_maintenance(self, start: float, end: float) -> bool:
        return any(m_start < end and start < m_end for m_start, m_end in self.state.get("maintenance", ()))

    def forget_maintenance_before(self, ts: float) -> None:
        if self.state.get("maintenance"):
            self.state["maintenance"] = [m for m in self.state["maintenance"] if m[1] > ts]
