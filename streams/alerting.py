"""When a series' verdicts open and resolve an alert: a pure per-series state machine.

The state is a small JSON-able dict kept in a Faust table keyed by series. Alert
ids are derived from the series and the event time the deviation began, so a
worker that replays windows after a crash re-sends the same alert, not a new one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from detectors import Verdict

_ALERT_NAMESPACE = uuid.UUID("6f1c8e1e-2f0e-4c5a-9a53-6b6f6874612d")


def rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class SeriesRef:
    channel: str
    metric: str
    touchpoint: str | None = None

    @property
    def id(self) -> str:
        tail = self.metric if self.touchpoint is None else f"{self.metric}@{self.touchpoint}"
        return f"{self.channel}/{tail}"


@dataclass(frozen=True, slots=True)
class WindowResult:
    """One series' value for one closed window and the detector's verdict on it."""

    series: SeriesRef
    start: float
    end: float
    observed: float | None
    sample_size: int | None
    verdict: Verdict | None
    update_seconds: float = 0.0  # time the detector took to score and learn


def new_alert_state() -> dict[str, Any]:
    return {"open": None, "streak": 0, "streak_start": None, "calm": 0}


class AlertPolicy:
    """Opens after ``open_after`` anomalous windows in a row, resolves after
    ``resolve_after`` normal ones in a row.

    >>> from detectors import Verdict
    >>> bad = Verdict(score=90.0, is_anomaly=True, expected=100.0, lower=60.0,
    ...     upper=140.0, direction="down", severity="critical", z=-9.0)
    >>> fine = Verdict(score=5.0, is_anomaly=False, expected=100.0, lower=60.0,
    ...     upper=140.0, direction=None, severity=None, z=0.2)
    >>> policy, state = AlertPolicy(open_after=1, resolve_after=1), new_alert_state()
    >>> series = SeriesRef("chat", "contact_volume")
    >>> [r["status"] for r in policy.step(state, WindowResult(series, 0, 60, 3.0, None, bad))]
    ['open']
    >>> [r["status"] for r in policy.step(state, WindowResult(series, 60, 120, 99.0, None, fine))]
    ['resolved']
    """

    def __init__(self, *, open_after: int = 1, resolve_after: int = 2) -> None:
        self.open_after = open_after
        self.resolve_after = resolve_after

    def step(self, state: dict[str, Any], result: WindowResult) -> list[dict[str, Any]]:
        """Advance ``state`` (mutated) by one window; return the alert records to send."""
        verdict = result.verdict
        if verdict is None or result.observed is None:
            return []  # nothing to judge (a ratio without a denominator)
        if verdict.is_anomaly:
            state["calm"] = 0
            if state["streak"] == 0:
                state["streak_start"] = result.start
            state["streak"] += 1
            if state["open"] is None and state["streak"] >= self.open_after:
                state["open"] = self._record("open", result, state["streak_start"], result.end)
                return [state["open"]]
            return []
        state["streak"], state["streak_start"] = 0, None
        if state["open"] is None:
            return []
        state["calm"] += 1
        if state["calm"] < self.resolve_after:
            return []
        opened, state["open"], state["calm"] = state["open"], None, 0
        resolved = self._record("resolved", result, None, opened["detected_at_epoch"])
        resolved.update(
            alert_id=opened["alert_id"],
            start=opened["start"],
            start_epoch=opened["start_epoch"],
            direction=opened["direction"],
            severity=opened["severity"],
            resolved_at=rfc3339(result.end),
            resolved_at_epoch=result.end,
        )
        return [resolved]

    @staticmethod
    def _record(
        status: str, result: WindowResult, start: float | None, detected_at: float
    ) -> dict[str, Any]:
        verdict, series = result.verdict, result.series
        assert verdict is not None
        start = result.start if start is None else start
        return {
            "alert_id": str(uuid.uuid5(_ALERT_NAMESPACE, f"{series.id}|{start}")),
            "status": status,
            "kind": "anomaly",
            "series": series.id,
            "channel": series.channel,
            "metric": series.metric,
            "touchpoint": series.touchpoint,
            "start": rfc3339(start),
            "start_epoch": start,
            "detected_at": rfc3339(detected_at),
            "detected_at_epoch": detected_at,
            "observed": result.observed,
            "expected": verdict.expected,
            "lower": verdict.lower,
            "upper": verdict.upper,
            "direction": verdict.direction,
            "score": round(verdict.score, 2),
            "severity": verdict.severity,
            "sample_size": result.sample_size,
        }
