"""Building blocks of the seasonal detector: clock, hour profile, sampling noise, z."""

from __future__ import annotations

import math
from datetime import datetime
from statistics import NormalDist
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# Day types per profile: one day for every day, weekdays vs weekend, or each weekday.
PROFILES = {"day": 1, "weekpart": 2, "week": 7}
# 1970-01-01 was a Thursday; with Monday as 0 that is weekday 3.
_EPOCH_WEEKDAY = 3
_NORMAL = NormalDist()
# Φ(-37.5) is about the smallest positive double; beyond it a z is "certain" anyway.
_Z_LIMIT = 37.5


class LocalClock:
    """Hours since the epoch on a time zone's wall clock (offset looked up once an hour)."""

    __slots__ = ("zone", "_hour", "_offset")

    def __init__(self, timezone: str) -> None:
        try:
            self.zone = None if timezone == "UTC" else ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {timezone!r}") from exc
        self._hour: int | None = None
        self._offset = 0.0

    def hours(self, t: float) -> float:
        if self.zone is not None:
            hour = math.floor(t / 3600.0)
            if hour != self._hour:  # zones change their offset on the hour
                local = datetime.fromtimestamp(hour * 3600.0, self.zone)
                self._hour, self._offset = hour, local.utcoffset().total_seconds()
            t += self._offset
        return t / 3600.0


class Profile:
    """A smooth curve over the hours of a day, one curve per day type.

    Bucket ``b`` holds the curve at the centre of hour ``b % 24`` of day type
    ``b // 24``; between two centres the value is interpolated, also across midnight
    into the next day's type, so the baseline never steps on the hour.

    Each bucket is the tent-weighted mean of the windows within an hour of its centre
    (a triangular-kernel smoother). Its gain is ``w / W``, with ``W`` the bucket's
    accumulated weight capped at ``cap``: a new bucket starts as a plain running mean
    (River's ``stats.Mean``) and a learned one forgets like River's ``stats.EWMean``
    with ``fading_factor = w / cap``.
    """

    __slots__ = ("types", "cap", "values", "weights")

    def __init__(self, profile: str, cap: float) -> None:
        self.types = PROFILES[profile]
        self.cap = cap
        self.values = [0.0] * (24 * self.types)
        self.weights = [0.0] * (24 * self.types)

    def locate(self, hours: float) -> tuple[int, int, int, int, float]:
        """Buckets of the hours before, around and after ``hours`` (local hours since
        the epoch), and how far it is from the first to the second centre."""
        pos = hours - 0.5  # bucket values sit at the middle of their hour
        slot = math.floor(pos)
        b = self._bucket
        return b(slot - 1), b(slot), b(slot + 1), b(slot + 2), pos - slot

    def _bucket(self, slot: int) -> int:
        day, hour = divmod(slot, 24)
        if self.types == 1:
            return hour
        weekday = (day + _EPOCH_WEEKDAY) % 7
        return 24 * (weekday if self.types == 7 else int(weekday >= 5)) + hour

    def value(self, b: int) -> float | None:
        """A learned bucket's value; an unlearned one borrows the nearest learned relative.

        Order: the same hour on earlier day types (so a first Saturday starts from the
        weekday curve), then earlier hours (so a first day starts from the last hour).
        """
        if self.weights[b]:
            return self.values[b]
        hour, day_type = b % 24, b // 24
        for back in range(24):
            for k in range(self.types):
                c = 24 * ((day_type - k) % self.types) + (hour - back) % 24
                if self.weights[c]:
                    return self.values[c]
        return None

    def predict(self, loc: tuple) -> float | None:
        bm, b0, b1, b2, f = loc
        v0, v1 = self.value(b0), self.value(b1)
        if v0 is None:
            return None
        line = v0 + f * (v1 - v0)
        w = self.weights
        if not (w[bm] and w[b0] and w[b1] and w[b2]):
            return line
        # Each value is a tent-weighted mean, which flattens a peak by x''/12, and a
        # chord between centres cuts it by x''·f(1-f)/2: undo both with the curvature
        # of the neighbours (1-3 % at the peaks of a typical day; 2 sigma at 10^4/min).
        vm, v2 = self.values[bm], self.values[b2]
        curvature = (1.0 - f) * (vm - 2.0 * v0 + v1) + f * (v0 - 2.0 * v1 + v2)
        return line - curvature * (1.0 / 12.0 + 0.5 * f * (1.0 - f))

    def mean(self) -> float:
        """The mean of the learned buckets (0 before any): the profile's average hour."""
        learned = [v for v, w in zip(self.values, self.weights) if w]
        return sum(learned) / len(learned) if learned else 0.0

    def weight(self, loc: tuple) -> float:
        """How much has been learned where the curve is read (0 where it is borrowed)."""
        _, b0, b1, _, f = loc
        return (1.0 - f) * self.weights[b0] + f * self.weights[b1]

    def learn(self, loc: tuple, x: float, w: float) -> None:
        _, b0, b1, _, f = loc
        for b, share in ((b0, 1.0 - f), (b1, f)):
            wb = share * w
            if wb <= 0.0:
                continue
            v = self.value(b)
            total = self.weights[b] = min(self.weights[b] + wb, self.cap)
            self.values[b] = x if v is None else v + wb / total * (x - v)

    def to_list(self) -> list:
        return [self.values, self.weights]

    def load(self, state: list) -> Profile:
        values, weights = state
        if len(values) != len(self.values) or len(weights) != len(self.weights):
            raise ValueError("profile state does not match the profile's size")
        self.values, self.weights = list(values), list(weights)
        return self


def skew_z(y: float, gamma: float) -> float:
    """Normal-equivalent z of a standardized value ``y`` of a distribution with skewness ``gamma``.

    The Wilson–Hilferty cube-root transform, written for any skewness: exact in the
    limit of a gamma distribution and within ~0.1 of the exact Poisson and binomial
    tail quantiles where it matters (the tests check it against SciPy). Without it a
    Poisson(0.3) night window would exceed 4 "sigma" with 3 events, 0.4 % of the time.
    """
    if abs(gamma) < 1e-6:
        return y
    u = 1.0 + 0.5 * gamma * y
    if u <= 0.0:  # beyond the support's end: as extreme as it gets
        return math.copysign(_Z_LIMIT, y)
    return 6.0 / gamma * (u ** (1.0 / 3.0) - 1.0) + gamma / 6.0


def skew_y(z: float, gamma: float) -> float:
    """Inverse of :func:`skew_z`: the standardized value whose z is ``z``.

    Where no value is that extreme it is the end of the support (``-2/gamma``).
    """
    if abs(gamma) < 1e-6:
        return z
    c = max(0.0, 1.0 + gamma * (z - gamma / 6.0) / 6.0)
    return 2.0 * (c**3 - 1.0) / gamma


def zero_count_z(expected: float, overdispersion: float) -> float:
    """z of a count of exactly 0, from the negative binomial with this mean and var e + κe².

    A zero is judged by its exact probability, not by a normal tail: with κ = 0.025, 0
    where 20 were expected is 5.2 sigma-equivalent, while the normal approximation
    calls it 3.9 and would let a dead channel pass at a quiet hour.
    """
    return log_p_z(zero_count_log_p(expected, overdispersion))


def zero_count_log_p(expected: float, overdispersion: float) -> float:
    """Log of the negative-binomial (Poisson when κ = 0) probability of a count of 0."""
    if overdispersion * expected > 1e-9:
        return -math.log1p(overdispersion * expected) / overdispersion
    return -expected


def log_p_z(log_p: float) -> float:
    """The (negative) normal-equivalent z of a lower-tail probability given by its log."""
    if log_p < -700.0:
        return -_Z_LIMIT
    return max(_NORMAL.inv_cdf(math.exp(log_p)), -_Z_LIMIT) if log_p < 0.0 else 0.0


def sampling(kind: str, e: float, n: float | None, se: float | None, unit_var: float | None,
             count_floor: float) -> tuple[float, float, float]:
    """Sampling variance of one window around the expected ``e``, its skewness, and the
    scale of model error (``e²`` for counts, whose errors are relative; else 1).

    The variance comes from the *expected* value, not the observed one: 0 of 3 visits
    has an observed binomial variance of 0, which would make any miss infinitely odd.
    """
    if kind == "count":
        s2 = max(e, count_floor)
        return s2, 1.0 / math.sqrt(s2), e * e
    if kind in ("ratio", "share"):
        p = (min(max(e, 0.0), 1.0) * n + 0.5) / (n + 1.0)  # Jeffreys: never exactly 0 or 1
        return p * (1.0 - p) / n, (1.0 - 2.0 * p) / math.sqrt(n * p * (1.0 - p)), 1.0
    # NPS and means: the typical variance of one answer over n, or the window's own
    # standard error when that is larger (a polarized window really is noisier).
    s2 = max(unit_var / n if unit_var else 0.0, se * se if se else 0.0)
    return s2, 0.0, 1.0


def check_observation(kind: str, x: float | None, n: float | None,
                      se: float | None) -> tuple[float, float | None, float | None] | None:
    """``(x, n, se)`` as floats, ``None`` for a window without data; raises on nonsense."""
    if n is not None and not (math.isfinite(n) and n >= 0):
        raise ValueError(f"sample size must be a finite number >= 0, got {n!r}")
    if se is not None and not (math.isfinite(se) and se >= 0):
        raise ValueError(f"standard error must be a finite number >= 0, got {se!r}")
    if x is None or (kind != "count" and not n):
        return None  # no data, or a share of nothing
    if not math.isfinite(x):
        raise ValueError(f"value must be a finite number, got {x!r}")
    if x < 0 and kind in ("count", "ratio", "share"):
        raise ValueError(f"a {kind} cannot be negative, got {x!r}")
    if kind == "nps" and abs(x) > 100:
        raise ValueError(f"an NPS lies in [-100, 100], got {x!r}")
    if kind == "count":
        return float(x), None, None
    return float(x), float(n), (float(se) if se is not None else None)
