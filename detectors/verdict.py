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

    @classmethod
    def from_z(
        cls,
        z: float,
        *,
        threshold: float,
        bad_direction: str,
        expected: float | None,
        lower: float | None,
        upper: float | None,
    ) -> Verdict:
        """The verdict for a standardized deviation ``z``: one scale for every detector.

        >>> v = Verdict.from_z(-9.0, threshold=4.0, bad_direction="down", expected=100.0,
        ...     lower=60.0, upper=140.0)
        >>> round(v.score, 1), v.is_anomaly, v.direction, v.severity
        (69.2, True, 'down', 'critical')
        """
        dev = abs(z)
        direction = "up" if z > 0 else "down" if z < 0 else None
        severity = None
        if dev >= threshold:
            severity = "critical" if dev >= 2 * threshold else "warning"
        is_anomaly = severity is not None and bad_direction in ("both", direction)
        return cls(100.0 * dev / (dev + threshold), is_anomaly, expected, lower, upper, direction, severity, z)
