"""Daily and weekly traffic rhythm, as multipliers of a channel's peak rate.

Everything is in UTC. Each daily profile is a floor plus two periodic bumps
(von Mises shapes, i.e. ``exp(kappa * cos(...))``), one late in the morning and
one in the evening; smooth across midnight and lowest around 03:00 at roughly
11 % of the peak.
"""

from __future__ import annotations

import math

MINUTES_PER_DAY = 1440
# 1970-01-01 was a Thursday; with Monday as 0 that is weekday 3.
_EPOCH_WEEKDAY = 3


def _profile(morning: float, evening: float, kappa_morning: float) -> tuple[float, ...]:
    def bump(hour: float, centre: float, kappa: float) -> float:
        return math.exp(kappa * (math.cos(2.0 * math.pi * (hour - centre) / 24.0) - 1.0))

    raw = [
        0.05 + morning * bump(m / 60.0, 11.0, kappa_morning) + evening * bump(m / 60.0, 20.0, 2.6)
        for m in range(MINUTES_PER_DAY)
    ]
    peak = max(raw)
    return tuple(r / peak for r in raw)


# Tables per minute of day, so the hot loop does a lookup, not trigonometry.
DAILY: dict[str, tuple[float, ...]] = {
    # People shop after work: the evening peak (20:00) is the highest.
    "shopping": _profile(morning=0.85, evening=1.0, kappa_morning=2.2),
    # Service desks and back offices follow office hours: peak at 11:00.
    "office": _profile(morning=1.0, evening=0.6, kappa_morning=2.0),
}


def is_weekend(minute: int) -> bool:
    """Whether the absolute epoch minute falls on a Saturday or Sunday (UTC)."""
    return (minute // MINUTES_PER_DAY + _EPOCH_WEEKDAY) % 7 >= 5
