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
    # The value over the target's rolling span, for metrics that declare a target,
    # and its sampling standard error.
    target_observed: float | None = None
    # Inside a maintenance window: nothing opens, nothing is learned.
    suppressed: bool = False
    target_se: float = 0.0


@dataclass(frozen=True, slots=True)
class TargetRule:
    """An objective; a breach must stand clear of the value's sampling error.

    A 15-minute NPS from 75 answers has a standard error near 9 points: reading
    it as a breach of "NPS >= 20" whenever it dips below would page on noise.
    """

    min: float | None = None
    max: float | None = None
    margin: float = 2.0  # standard errors

    def breached_by(self, value: float, se: float = 0.0) -> str | None:
        """The direction of a breach ("down" below min, "up" above max), or None."""
        if self.min is not None and value + self.margin * se < self.min:
            return "down"
        if self.max is not None and value - self.margin * se > self.max:
            return "up"
        return None


def _new_track() -> dict[str, Any]:
    return {"open": None, "streak": 0, "streak_start": None, "calm": 0, "quiet_until": None}


def new_alert_state() -> dict[str, Any]:
    """Per series: one track per alert kind, the feedback sensitivity, target history."""
    return {"anomaly": _new_track(), "target": _new_track(), "sensitivity": 1.0, "roll": []}


class AlertPolicy:
    """Decides, window by window, when a series' alert opens, changes and resolves.

    An anomaly alert opens after ``open_after`` anomalous windows in a row, or at
    once on a critical one (``|z| >= 2 * threshold``, unless ``critical_at_once``
    is off), and resolves after ``resolve_after`` normal ones; after a resolve the series stays
    quiet for ``cooldown_windows``. While open, a change of severity sends an
    ``update`` with the same id. A ``target`` breach (value over the rolling span
    outside the objective) is tracked the same way as its own alert kind.
    False-alarm feedback raises the series' ``sensitivity`` factor: a deviation
    then needs ``|z| >= threshold * sensitivity`` to count. An open alert stays
    open while ``|z|`` holds at ``resolve_ratio`` of that in its direction.

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

    def __init__(
        self,
        *,
        open_after: int = 1,
        resolve_after: int = 2,
        cooldown_windows: int = 0,
        threshold: float = 4.0,
        target: TargetRule | None = None,
        resolve_ratio: float = 0.5,
        critical_at_once: bool = True,
    ) -> None:
        self.resolve_ratio = resolve_ratio
        self.critical_at_once = critical_at_once
        self.open_after = open_after
        self.resolve_after = resolve_after
        self.cooldown_windows = cooldown_windows
        self.threshold = threshold
        self.target = target

    def step(self, state: dict[str, Any], result: WindowResult) -> list[dict[str, Any]]:
        """Advance ``state`` (mutated) by one window; return the alert records to send."""
        if result.suppressed or result.observed is None:
            return []
        records = []
        verdict = result.verdict
        if verdict is not None:
            bar = self.threshold * state.get("sensitivity", 1.0)
            opened = state["anomaly"]["open"]
            at_once = False
            if opened is None:
                anomalous = verdict.is_anomaly and abs(verdict.z) >= bar
                # Persistence filters windows at the edge of the band, where a model's
                # small errors live; twice the bar is no edge case, so it opens at once.
                at_once = anomalous and self.critical_at_once and abs(verdict.z) >= 2.0 * bar
            else:
                # Hysteresis: an open alert stays open while the deviation holds at half
                # the bar in its direction, so one window near the edge does not resolve it.
                anomalous = verdict.direction == opened["direction"] and abs(verdict.z) >= bar * self.resolve_ratio
            records += self._advance(state["anomaly"], "anomaly", anomalous, result, verdict.direction, at_once)
        if self.target is not None and result.target_observed is not None:
            # Opening needs the breach to stand clear of sampling error; once open, the
            # alert holds until the value itself meets the objective again.
            held = state["target"]["open"] is not None
            breach = self.target.breached_by(result.target_observed, 0.0 if held else result.target_se)
            records += self._advance(state["target"], "target", breach is not None, result, breach)
        return records

    def _advance(
        self, track: dict[str, Any], kind: str, bad: bool, result: WindowResult, direction: str | None,
        at_once: bool = False,
    ) -> list[dict[str, Any]]:
        if bad:
            track["calm"] = 0
            if track["open"] is not None:
                return self._maybe_update(track, kind, result)
            if track["quiet_until"] is not None and result.start < track["quiet_until"]:
                return []  # cooling down after a resolve: flapping is not news
            if track["streak"] == 0:
                track["streak_start"] = result.start
            track["streak"] += 1
            if track["streak"] < self.open_after and not at_once:
                return []
            track["open"] = self._record(kind, "open", result, track["streak_start"], result.end, direction)
            return [track["open"]]
        track["streak"], track["streak_start"] = 0, None
        if track["open"] is None:
            return []
        track["calm"] += 1
        if track["calm"] < self.resolve_after:
            return []
        opened, track["open"], track["calm"] = track["open"], None, 0
        track["quiet_until"] = result.end + self.cooldown_windows * (result.end - result.start)
        resolved = self._record(kind, "resolved", result, opened["start_epoch"], opened["detected_at_epoch"],
                                opened["direction"])
        resolved.update(
            alert_id=opened["alert_id"],
            severity=opened["severity"],
            resolved_at=rfc3339(result.end),
            resolved_at_epoch=result.end,
        )
        return [resolved]

    def _maybe_update(self, track: dict[str, Any], kind: str, result: WindowResult) -> list[dict[str, Any]]:
        opened = track["open"]
        severity = self._severity(kind, result)
        if severity is None or severity == opened["severity"]:
            return []  # unchanged, or held open below the threshold by hysteresis
        update = self._record(kind, "update", result, opened["start_epoch"], opened["detected_at_epoch"],
                              opened["direction"])
        update.update(alert_id=opened["alert_id"], previous_severity=opened["severity"])
        opened["severity"] = severity
        return [update]

    @staticmethod
    def _severity(kind: str, result: WindowResult) -> str | None:
        if kind == "target":
            return "warning"
        return result.verdict.severity if result.verdict is not None else None

    def _record(
        self, kind: str, status: str, result: WindowResult, start: float, detected_at: float, direction: str | None
    ) -> dict[str, Any]:
        verdict, series = result.verdict, result.series
        anomaly = kind == "anomaly"
        # Anomaly ids keep their original form; target ids are namespaced apart.
        name = f"{series.id}|{start}" if anomaly else f"{series.id}|target|{start}"
        return {
            "alert_id": str(uuid.uuid5(_ALERT_NAMESPACE, name)),
            "status": status,
            "kind": kind,
            "series": series.id,
            "channel": series.channel,
            "metric": series.metric,
            "touchpoint": series.touchpoint,
            "start": rfc3339(start),
            "start_epoch": start,
            "detected_at": rfc3339(detected_at),
            "detected_at_epoch": detected_at,
            "observed": result.observed if anomaly else result.target_observed,
            "expected": verdict.expected if verdict is not None else None,
            "lower": verdict.lower if verdict is not None else None,
            "upper": verdict.upper if verdict is not None else None,
            "target": None if anomaly or self.target is None else {"min": self.target.min, "max": self.target.max},
            "direction": direction,
            "score": round(verdict.score, 2) if verdict is not None else None,
            "severity": self._severity(kind, result),
            "sample_size": result.sample_size,
        }
