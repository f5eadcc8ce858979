"""``kohta backtest``: the worker's decisions, replayed from a file.

Lines of a JSONL file are taken as Kafka message values in arrival order. Each is
decoded by the worker's validator and routed to the partition that owns its
channel; :class:`streams.engine.Engine` then windows, measures, detects and
decides alerts exactly as in the worker. The wall clock, which in the worker
closes windows of silent partitions, is the arrival clock here: the newest event
time read so far, ticked every ``tick_interval_seconds`` of it.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from streams.alerting import WindowResult
from streams.engine import Engine, Outcome
from streams.enrich import correlator_for, enrich_alert
from streams.incidents import new_incident_state
from streams.events import TouchpointEvent
from streams.settings import KohtaSettings
from streams.validation import decode_message

# Lines decoded before their events are handed to the engine; large enough to
# amortise per-call work, small enough that ticks stay near their arrival time.
_CHUNK_LINES = 512


@dataclass
class BacktestSummary:
    lines: int = 0
    events: int = 0
    accepted: int = 0
    late: int = 0
    duplicates: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    windows_closed: int = 0
    alerts: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "lines": self.lines,
            "events": self.events,
            "accepted": self.accepted,
            "late": self.late,
            "duplicates": self.duplicates,
            "rejected": dict(self.rejected),
            "windows_closed": self.windows_closed,
            "alerts": dict(self.alerts),
            "seconds": round(self.seconds, 3),
            "events_per_second": round(self.events_per_second),
        }


class Backtest:
    def __init__(
        self,
        settings: KohtaSettings,
        *,
        on_alert: Callable[[dict[str, Any]], None],
        on_result: Callable[[WindowResult], None] | None = None,
    ) -> None:
        self.settings = settings
        self.engine = Engine(settings, windows={}, detectors={}, alerts={})
        self.on_alert = on_alert
        self.on_result = on_result
        # The worker's second stage, applied in the order alerts are sent.
        self.correlator = correlator_for(settings)
        self.incidents = new_incident_state()
        self.summary = BacktestSummary()
        self._arrival_clock: float | None = None
        self._next_tick: float | None = None

    def run(self, lines: Iterable[bytes], progress: Callable[[int], None] | None = None) -> BacktestSummary:
        began = time.perf_counter()
        chunk: list[bytes] = []
        for line in lines:
            if line.strip():
                chunk.append(line)
            if len(chunk) >= _CHUNK_LINES:
                self._process(chunk)
                if progress is not None:
                    progress(sum(len(x) for x in chunk))
                chunk = []
        if chunk:
            self._process(chunk)
            if progress is not None:
                progress(sum(len(x) for x in chunk))
        self.summary.seconds = time.perf_counter() - began
        return self.summary

    def _process(self, lines: list[bytes]) -> None:
        settings, summary = self.settings, self.summary
        by_partition: dict[int, list[TouchpointEvent]] = defaultdict(list)
        newest = self._arrival_clock
        for raw in lines:
            summary.lines += 1
            decoded = decode_message(
                raw,
                now=time.time(),
                max_message_bytes=settings.max_message_bytes,
                max_batch_events=settings.max_batch_events,
                max_future_seconds=settings.max_future_seconds,
            )
            for rejection in decoded.rejections:
                summary.rejected[rejection.reason] += 1
            for event in decoded.events:
                by_partition[self.engine.owner(event.channel)].append(event)
                if newest is None or event.ts > newest:
                    newest = event.ts
        if newest is None:
            return
        self._arrival_clock = newest
        for partition, events in by_partition.items():
            summary.events += len(events)
            self._record(self.engine.absorb(partition, events, newest))
        self._tick()

    def _tick(self) -> None:
        """What the worker's timer does: let every partition close what its clock allows."""
        clock = self._arrival_clock
        assert clock is not None
        interval = self.settings.windows.tick_interval_seconds
        if self._next_tick is not None and clock < self._next_tick:
            return
        self._next_tick = clock + interval
        for partition in range(self.settings.topics.partitions):
            self._record(self.engine.close_due(partition, clock))

    def finish(self) -> None:
        """Close what the end of the file allows, as a worker would once traffic stops."""
        if self._arrival_clock is None:
            return
        for partition in range(self.settings.topics.partitions):
            self._record(self.engine.close_due(partition, self._arrival_clock))

    def _record(self, outcome: Outcome) -> None:
        summary = self.summary
        summary.accepted += outcome.accepted
        summary.late += len(outcome.late)
        summary.duplicates += len(outcome.duplicates)
        if outcome.late:
            summary.rejected["late"] += len(outcome.late)
        if outcome.overflow:
            summary.rejected["channel_overflow"] += len(outcome.overflow)
        summary.windows_closed += len(outcome.closed)
        if self.on_result is not None:
            for result in outcome.results:
                self.on_result(result)
        for record in outcome.alerts:
            summary.alerts[record["status"]] += 1
            self.on_alert(enrich_alert(self.correlator, self.incidents, record, self.settings.language))
