"""Judging one series' closed window: measure, pool, detect, roll targets, decide alerts.

:class:`streams.engine.Engine` closes windows; this class turns each series of a
closed window into a :class:`~streams.alerting.WindowResult` and alert records,
reading and writing the series' detector and alert state in the mappings handed
in (Faust table views in the worker, dicts in the backtest).

A close may be redone after a crash cut a flush short: the alert state's
``judged_through`` says the series already went through it, and the detector
state's, that the detector already learned it; neither happens twice.
"""

from __future__ import annotations

import time
from collections.abc import MutableMapping
from typing import Any

import orjson

from streams.alerting import AlertPolicy, SeriesRef, TargetRule, WindowResult, new_alert_state
from streams.detection import new_detector, restore_detector, score_and_learn
from streams.metric_book import Measurement, MetricBook, sampling_error, split_series_key
from streams.metric_spec import MetricSpec
from streams.settings import KohtaSettings
from streams.windowing import ClosedWindow

StateMap = MutableMapping[str, Any]


def pack_detector_state(state: dict[str, Any]) -> str:
    """A detector's state as it is kept in the detectors table: one JSON string.

    As Python objects (a dict of lists of floats) a series' detector state takes
    several times the bytes of its JSON, and a worker holds one per series; it is
    only read when the series' window closes, so parsing it then costs little.
    """
    return orjson.dumps(state).decode()


def unpack_detector_state(stored: str | dict[str, Any]) -> dict[str, Any]:
    """The state :func:`pack_detector_state` kept; a dict (written before it was packed) as is."""
    return orjson.loads(stored) if isinstance(stored, str) else stored


class SeriesJudge:
    def __init__(
        self, settings: KohtaSettings, book: MetricBook, *, detectors: StateMap, alerts: StateMap, size: float
    ) -> None:
        self.settings = settings
        self.book = book
        self.detectors, self.alerts = detectors, alerts
        self.size = size
        self._policies = {name: self._policy_for(spec) for name, spec in book.specs.items()}
        # Series id -> alert state, for the series with an open alert only: what the
        # open-alert gauges are counted from on every tick, without reading every
        # series' state. Derived; rebuilt by reindex_open_alerts after a restore.
        self.open_alerts: dict[str, dict[str, Any]] = {}

    def judge(
        self, window: ClosedWindow, key: str, counts: list[float], suppressed: bool
    ) -> tuple[WindowResult, list[dict[str, Any]]]:
        """Measure, detect and decide for series ``key`` of a closed window; returns its
        result and the alert records to send."""
        metric, touchpoint = split_series_key(key)
        series = SeriesRef(window.channel, metric, touchpoint)
        state = self.alerts.get(series.id) or new_alert_state()
        if window.start <= state.get("judged_through", float("-inf")):
            # Closed again after a crash cut a flush short: this series kept the close.
            return WindowResult(series, window.start, window.end, None, None, None), []
        state["judged_through"] = window.start
        measurement, judged_at = self._pooled(state, metric, key, counts, window.start)
        verdict, spent = None, 0.0
        if measurement is not None and measurement.value is not None:
            began = time.perf_counter()
            packed = self.detectors.get(series.id)
            stored = None if packed is None else unpack_detector_state(packed)
            detector = self._detector(series, stored)
            # In maintenance the window is shown but not learned: it is not normal. Nor
            # is a close the detector already learned before a crash cut the flush short.
            learned_before = stored is not None and window.start <= stored.get("judged_through", float("-inf"))
            verdict = score_and_learn(
                detector, measurement, judged_at, learn=not (suppressed or learned_before)
            )
            self.detectors[series.id] = pack_detector_state({**detector.to_state(), "judged_through": window.start})
            spent = time.perf_counter() - began
        else:
            measurement = self.book.measure(key, counts)
        target_value, target_se = self._roll_target(state, metric, key, counts)
        result = WindowResult(
            series, window.start, window.end, measurement.value, measurement.n, verdict, spent,
            target_value, suppressed, target_se,
        )
        records = self._policies[metric].step(state, result)
        self.alerts[series.id] = state
        self._note_open(series.id, state)
        return result, records

    def _note_open(self, series_id: str, state: dict[str, Any]) -> None:
        if any((state.get(kind) or {}).get("open") for kind in ("anomaly", "target")):
            self.open_alerts[series_id] = state
        else:
            self.open_alerts.pop(series_id, None)

    def reindex_open_alerts(self) -> None:
        """Find the open alerts in every series' state (after the state was restored)."""
        self.open_alerts = {}
        for series_id in self.alerts:
            self._note_open(series_id, self.alerts[series_id])

    def _pooled(
        self, state: dict[str, Any], metric: str, key: str, counts: list[float], start: float
    ) -> tuple[Measurement | None, float]:
        """The measurement to judge, pooling thin windows until they hold ``min_n`` answers.

        A store region gets 1-5 smiley answers a minute: judged one window at a time
        the detector could neither see a shift nor help learning from noise. Its
        windows are pooled until the pool is big enough, then judged once, as of the
        pool's first window. Counts are never pooled: a thin count is information.
        """
        if self.book.specs[metric].kind == "count":
            return self.book.measure(key, counts), start
        pool = state.get("pool")
        if pool is not None:
            counts = [a + b for a, b in zip(pool["counts"], counts, strict=True)]
            start = pool["start"]
        measurement = self.book.measure(key, counts)
        if (measurement.n or 0) < self.settings.detector.min_n:
            state["pool"] = {"start": start, "counts": list(counts)}
            return None, start
        state.pop("pool", None)
        return measurement, start

    def _roll_target(
        self, state: dict[str, Any], metric: str, key: str, counts: list[float]
    ) -> tuple[float | None, float]:
        """The metric over the target's rolling span, ending with this window, and its standard error."""
        spec = self.book.specs[metric]
        if spec.target is None:
            return None, 0.0
        roll = state.setdefault("roll", [])
        roll.append(list(counts))
        del roll[: -spec.target.over_windows]
        if len(roll) < spec.target.over_windows:
            return None, 0.0  # the span is not full yet: too little to judge an objective
        summed = [sum(column) for column in zip(*roll, strict=True)]
        measurement = self.book.measure(key, summed)
        if measurement.n is not None and measurement.n < self.settings.detector.min_n:
            return None, 0.0
        return sampling_error(spec.kind, measurement)

    def _policy_for(self, spec: MetricSpec) -> AlertPolicy:
        base, tuning = self.settings.alerts, spec.alerting
        return AlertPolicy(
            open_after=(tuning and tuning.open_after_windows) or base.open_after_windows,
            resolve_after=(tuning and tuning.resolve_after_windows) or base.resolve_after_windows,
            cooldown_windows=base.cooldown_windows
            if tuning is None or tuning.cooldown_windows is None
            else tuning.cooldown_windows,
            threshold=self.settings.detector.threshold,
            target=TargetRule(spec.target.min, spec.target.max) if spec.target else None,
        )

    def _detector(self, series: SeriesRef, stored: dict[str, Any] | None) -> Any:
        if stored is not None:
            return restore_detector(stored, self.settings.detector)
        return new_detector(self.book.specs[series.metric], self.settings.detector, self.size)
