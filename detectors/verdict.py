"""What a detector says about one window's value of one series."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Verdict:
    """The score of one value against the baseline learned so far.

    ``score`` is on the same 0–100 scale for every metric kind: 0 is "exactly as
    expected" and 50 is the alert threshold, so dashboards and alert rules need not
    know whether the series was a count, a ratio or a gauge.
    """

    score: float  # 0–100; >= 50 means beyond the threshold
    is_anomaly: bool  # after warmup, beyond the threshold, in a direction the caller cares about
    expected: float | None  # baseline value; None before the first learned value
    lower: float | None  # band edges at the alert threshold
    upper: float | None
    direction: str | None  # "up" | "down" | None (no deviation or no baseline)
    severity: str | None  # None | "warning" | "critical"
    z: float  # signed standardized deviation; 0 during warmup or without a baseline
