"""A labelled scenario on disk: events in arrival order plus the incident labels.

``events.jsonl`` holds one event per line in the order a broker would receive
them. Each event arrives ``ts + delay`` later: mostly a few seconds, about 1 %
tens of seconds (up to ``lateness_seconds``, still in time for their window),
and about 0.05 % minutes late, which the pipeline should count as ``late``.
Generation runs a minute at a time; events not due before the next minute's
first event stay in a small reorder buffer, so memory does not grow with the
scenario. ``labels.json`` describes the scenario and its incidents (see
:mod:`.schedule`) for :func:`streams.evaluation.evaluate`.
"""

from __future__ import annotations

import math
import time
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from random import Random

import orjson

from .generator import generate_events
from .schedule import DAY, HOUR, build_scenario, default_start, rfc3339

__all__ = ["ScenarioSummary", "build_scenario", "write_scenario"]

DELAYED_SHARE = 0.01
LATE_SHARE = 0.0005
# Most events arrive within this many seconds, skewed towards the low end.
FAST_SECONDS = (0.1, 5.0)
DELAYED_MIN_SECONDS = 10.0
# With the default 60 s windows and 120 s allowed lateness, an event more than
# 180 s behind the newest one is certainly late, wherever it falls in a window.
LATE_MIN_SECONDS = 180.0
LATE_SPAN_SECONDS = 120.0

_ARRIVAL = itemgetter(0)
_DUMPS_OPTION = orjson.OPT_APPEND_NEWLINE


@dataclass(frozen=True)
class ScenarioSummary:
    events_path: Path
    labels_path: Path
    start: float
    end: float
    events: int
    delayed: int  # arrived tens of seconds late, within lateness_seconds
    late: int     # arrived minutes late: the pipeline should count these late
    incidents: int
    seconds: float  # wall time spent

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else math.inf


def write_scenario(out_dir: Path, *, days: int, seed: int, start: float | None = None,
                   lateness_seconds: float = 30.0, progress: Callable[[int], None] | None = None,
                   rate_scale: float = 1.0) -> ScenarioSummary:
    """Write ``events.jsonl`` and ``labels.json`` for :func:`build_scenario`'s
    incidents into ``out_dir``; ``progress`` gets the running event count once
    per simulated hour."""
    if not (math.isfinite(lateness_seconds) and lateness_seconds >= 0.0):
        raise ValueError(f"lateness_seconds must be finite and >= 0, got {lateness_seconds!r}")
    began = time.perf_counter()
    start = default_start(days) if start is None else float(start)
    incidents, labels = build_scenario(days, seed, start)
    end = start + int(days) * DAY
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    labels_path, events_path = out_dir / "labels.json", out_dir / "events.jsonl"
    scenario = {"days": int(days), "seed": seed, "start": rfc3339(start), "end": rfc3339(end)}
    labels_path.write_bytes(orjson.dumps({"scenario": scenario, "incidents": labels},
                                         option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE))

    rnd = Random(f"kohta:arrival:{seed}").random
    fast_lo, fast_span = FAST_SECONDS[0], FAST_SECONDS[1] - FAST_SECONDS[0]
    delayed_lo = min(DELAYED_MIN_SECONDS, lateness_seconds)
    delayed_span = lateness_seconds - delayed_lo
    late_lo = max(LATE_MIN_SECONDS, lateness_seconds + 60.0)
    fast_share = 1.0 - DELAYED_SHARE
    dumps = orjson.dumps
    written = delayed = late = 0
    pending: list[tuple[float, bytes]] = []
    # Written under another name and renamed at the end, so a crash never
    # leaves a truncated events.jsonl that looks complete.
    partial = events_path.with_name(events_path.name + ".partial")
    with partial.open("wb", buffering=1 << 20) as out:
        cursor, next_report = start, start + HOUR
        while cursor < end:
            upto = min(math.floor(cursor / 60.0) * 60.0 + 60.0, end)
            append = pending.append
            for ev in generate_events(cursor, upto, seed=seed, incidents=incidents, rate_scale=rate_scale):
                u = rnd()
                if u < DELAYED_SHARE:
                    if u < LATE_SHARE:
                        delay = late_lo + LATE_SPAN_SECONDS * rnd()
                        late += 1
                    else:
                        delay = delayed_lo + delayed_span * rnd()
                        delayed += 1
                else:
                    # One draw serves both the category and the delay; squaring
                    # skews towards the fast end.
                    x = (u - DELAYED_SHARE) / fast_share
                    delay = fast_lo + fast_span * x * x
                append((ev["ts"] + delay, dumps(ev, option=_DUMPS_OPTION)))
            # Every later event happens at or after ``upto`` and arrives after
            # it, so whatever is due before ``upto`` can be written now.
            pending.sort(key=_ARRIVAL)
            cut = bisect_left(pending, upto, key=_ARRIVAL)
            out.write(b"".join([line for _, line in pending[:cut]]))
            written += cut
            del pending[:cut]
            cursor = upto
            if progress is not None and cursor >= next_report:
                progress(written)
                next_report += HOUR
        out.write(b"".join([line for _, line in pending]))
        written += len(pending)
    partial.replace(events_path)
    if progress is not None:
        progress(written)
    return ScenarioSummary(events_path, labels_path, start, end, written, delayed, late,
                           len(incidents), time.perf_counter() - began)
