"""The pipeline's logic without Kafka: window, measure, detect, decide alerts.

The Faust worker and the backtest both drive this class, so what one decides the
other decides too. State lives in three mappings handed in: in the worker they
are Faust tables (every assignment is written to a changelog topic), in the
backtest plain dicts. Values are JSON-able dicts, so a changelog never holds
pickles.

Per-key state is only ever assigned from the partition that owns its channel
(:func:`streams.partitioning.partition_for`), so a table's changelog partition
for a key never changes and a restarted worker restores exactly what it wrote.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from streams.alerting import AlertPolicy, SeriesRef, WindowResult, new_alert_state
from streams.clock import PartitionClocks
from streams.detection import new_detector, restore_detector, score_and_learn
from streams.events import TouchpointEvent
from streams.metric_book import MetricBook, split_series_key
from streams.partitioning import partition_for
from streams.settings import KohtaSettings
from streams.windowing import ChannelWindows, ClosedWindow, last_closable_index, window_index

StateMap = MutableMapping[str, Any]


@dataclass(slots=True)
class Outcome:
    """What one step of the engine asks the outside world to do or record."""

    late: list[TouchpointEvent] = field(default_factory=list)
    accepted: int = 0
    closed: list[ClosedWindow] = field(default_factory=list)
    results: list[WindowResult] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)

    def extend(self, other: Outcome) -> None:
        self.late += other.late
        self.accepted += other.accepted
        self.closed += other.closed
        self.results += other.results
        self.alerts += other.alerts


class Engine:
    def __init__(
        self,
        settings: KohtaSettings,
        *,
        windows: StateMap,
        detectors: StateMap,
        alerts: StateMap,
    ) -> None:
        self.settings = settings
        self.book = MetricBook(settings.metrics)
        self.windows, self.detectors, self.alerts = windows, detectors, alerts
        self.partitions = settings.topics.partitions
        self.size = settings.windows.size_seconds
        self.lateness = settings.windows.allowed_lateness_seconds
        self.clocks = PartitionClocks(settings.windows.idle_timeout_seconds)
        self.policy = AlertPolicy(
            open_after=settings.alerts.open_after_windows,
            resolve_after=settings.alerts.resolve_after_windows,
        )
        # Derived from the clocks, so it may be lost at any time without harm.
        self._closed_through: dict[int, int] = {}

    def owner(self, channel: str) -> int:
        return partition_for(channel, self.partitions)

    def channels_of(self, partition: int) -> list[str]:
        return [c for c in list(self.windows.keys()) if self.owner(c) == partition]

    def forget_partition(self, partition: int) -> None:
        """Drop caches of a partition this worker no longer owns."""
        self.clocks.forget(partition)
        self._closed_through.pop(partition, None)

    def _ensure_clock(self, partition: int, wall_now: float) -> None:
        if not self.clocks.knows(partition):
            stored = [self.windows[c].get("max_ts") for c in self.channels_of(partition)]
            known = [ts for ts in stored if ts is not None]
            self.clocks.seed(partition, max(known) if known else None, wall_now)

    def absorb(self, partition: int, events: Iterable[TouchpointEvent], wall_now: float) -> Outcome:
        """Count events owned by ``partition``, in arrival order, then close what is due."""
        self._ensure_clock(partition, wall_now)
        outcome = Outcome()
        touched: dict[str, ChannelWindows] = {}
        for event in events:
            watermark = self.clocks.observe(partition, event.ts, wall_now)
            closable = last_closable_index(watermark, self.size, self.lateness)
            windows = touched.get(event.channel)
            if windows is None:
                windows = touched[event.channel] = ChannelWindows(
                    event.channel, self.windows.get(event.channel)
                )
            if windows.add(event, window_index(event.ts, self.size), self.book, closable):
                outcome.accepted += 1
            else:
                outcome.late.append(event)
        for channel, windows in touched.items():
            self.windows[channel] = windows.state
        outcome.extend(self.close_due(partition, wall_now))
        return outcome

    def close_due(self, partition: int, wall_now: float) -> Outcome:
        """Close every window of ``partition`` its watermark has passed, and judge it."""
        self._ensure_clock(partition, wall_now)
        outcome = Outcome()
        last = last_closable_index(self.clocks.watermark(partition, wall_now), self.size, self.lateness)
        if last is None or self._closed_through.get(partition, last - 1) >= last:
            return outcome
        for channel in self.channels_of(partition):
            windows = ChannelWindows(channel, self.windows[channel])
            closed = windows.close_through(last, self.size, self.book)
            if not closed:
                continue
            self.windows[channel] = windows.state
            outcome.closed += closed
            for window in closed:
                for key, counts in window.counts.items():
                    result, records = self._judge(window, key, counts)
                    outcome.results.append(result)
                    outcome.alerts += records
        self._closed_through[partition] = last
        return outcome

    def _judge(
        self, window: ClosedWindow, key: str, counts: list[int]
    ) -> tuple[WindowResult, list[dict[str, Any]]]:
        metric, touchpoint = split_series_key(key)
        series = SeriesRef(window.channel, metric, touchpoint)
        measurement = self.book.measure(key, counts)
        verdict, spent = None, 0.0
        if measurement.value is not None:
            began = time.perf_counter()
            detector = self._detector(series)
            verdict = score_and_learn(detector, measurement, window.start)
            self.detectors[series.id] = detector.to_state()
            spent = time.perf_counter() - began
        result = WindowResult(
            series, window.start, window.end, measurement.value, measurement.n, verdict, spent
        )
        state = self.alerts.get(series.id) or new_alert_state()
        records = self.policy.step(state, result)
        self.alerts[series.id] = state
        return result, records

    def _detector(self, series: SeriesRef) -> Any:
        stored = self.detectors.get(series.id)
        if stored is not None:
            return restore_detector(stored)
        return new_detector(self.book.specs[series.metric], self.settings.detector, self.size)
