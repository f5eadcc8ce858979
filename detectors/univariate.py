"""kohta's default detector for a plain numeric stream: one value per row, no metadata.

Online novelty statistics, each turned into a *surprise* (-ln of an estimated tail
probability against that statistic's own trailing history), so they share one scale
and combine by ``max``:

1. **Value.** Where ``x`` falls among the last values: the empirical rank in the body,
   an exponential tail fitted to the exceedances beyond the outer 10 % (peaks over
   threshold, GPD of shape 0). The *smallest* surprise over ``value_windows`` counts:
   a value must be extreme against the last days and the longer past alike, so a
   bursty week does not alert on every burst.
2. **Shapes.** Per ``(width, block)``, the last ``width`` values as block means and
   their distance to the nearest earlier, non-overlapping shape (an online left
   matrix profile). A short shape sees odd wiggles and sustained bursts, a long one a
   missing or distorted daily cycle that no single value reveals. Distances are
   calibrated by an exponential tail through their median and 95th percentile, which
   a few large warm-up distances cannot stretch.

The surprise ``s`` is reported as ``s / (s + alert_surprise)`` (0.5 at the alert
level). After an alert the detector stays quiet for ``refractory`` rows (scores times
``quiet_factor``): one incident is one alert, not a burst of them.

River pieces: ``river.base.Base`` (parameters, ``clone``) and ``river.utils.SortedWindow``
(rolling order statistics in pure Python, so plain JSON). Shape memories are numpy
ring buffers that ``from_state`` rebuilds from the raw history; the state holds raw
values and distances (about 300 kB of JSON with the defaults).
"""

from __future__ import annotations

import bisect
import math
from collections import deque

import numpy as np
from river import base, utils

STATE_VERSION = 1
_TAIL = 0.1  # fraction of the value window in each exponential tail
_BODY_LO, _BODY_HI = 0.5, 0.95  # distance quantiles the exponential tail is drawn through
_BODY_SLOPE = math.log((1 - _BODY_LO) / (1 - _BODY_HI))


def _value_surprise(srt: list[float], v: float) -> float:
    """-ln P(as extreme as v), two-sided, against the sorted window ``srt``."""
    n = len(srt)
    k = max(1, int(_TAIL * n))
    med = srt[n // 2]
    spread = max(srt[(3 * n) // 4] - srt[n // 4], 1e-6 * abs(med), 1e-12)
    if v > med:
        hi = srt[n - k - 1]
        if v > hi:
            beta = max(sum(srt[n - k :]) / k - hi, 0.05 * spread)
            return -math.log(k / n) + (v - hi) / beta
        rank = n - bisect.bisect_left(srt, v)
    else:
        lo = srt[k]
        if v < lo:
            beta = max(lo - sum(srt[:k]) / k, 0.05 * spread)
            return -math.log(k / n) + (lo - v) / beta
        rank = bisect.bisect_right(srt, v)
    return -math.log(max(rank, 1) / n)


def _body_surprise(srt: list[float], d: float, floor: float) -> float:
    """-ln P(D > d) for a distance, from an exponential tail through two body quantiles."""
    n = len(srt)
    lo, hi = srt[int(_BODY_LO * (n - 1))], srt[int(_BODY_HI * (n - 1))]
    return max(0.0, -math.log(1 - _BODY_LO) + (d - lo) / max(hi - lo, floor) * _BODY_SLOPE)


class _ShapeMemory:
    """Nearest-neighbour distance of the current shape to non-overlapping past shapes."""

    def __init__(self, width: int, block: int, memory: int) -> None:
        self.width, self.block = width, block
        self.db = np.empty((memory, width // block))
        self.size = self.pos = 0
        # A shape becomes searchable only once it no longer overlaps the query: every
        # shape nearly matches itself shifted by one row.
        self.pending: deque[np.ndarray] = deque()

    def shape(self, recent: np.ndarray) -> np.ndarray:
        return recent[-self.width :].reshape(-1, self.block).mean(axis=1)

    def distance(self, f: np.ndarray) -> float | None:
        if self.size < self.width:  # too little history for "nearest" to mean anything
            return None
        diff = self.db[: self.size] - f
        return math.sqrt(float(np.einsum("ij,ij->i", diff, diff).min()) / len(f))

    def add(self, f: np.ndarray) -> None:
        self.pending.append(f)
        if len(self.pending) > self.width:
            self.db[self.pos] = self.pending.popleft()
            self.pos = (self.pos + 1) % len(self.db)
            self.size = min(self.size + 1, len(self.db))


class UnivariateDetector(base.Base):
    """Scores each value of one numeric stream in [0, 1], before learning it.

    Parameters: ``value_windows`` (trailing windows the value is ranked against),
    ``shapes`` (``(width, block)`` pairs), ``memory`` (past shapes searched per width),
    ``calibration_window`` (past distances a shape's surprise is calibrated against),
    ``alert_surprise`` (-ln p that scores 0.5 and opens a quiet period), ``refractory``
    (rows of quiet after an alert), ``quiet_factor`` (score damping while quiet; below
    0.5, so nothing quiet reaches the alert level), ``warmup`` (values, or distances, a
    model needs before it contributes).

    >>> import math
    >>> from detectors.univariate import UnivariateDetector
    >>> det = UnivariateDetector()
    >>> series = [10 + 3 * math.sin(i / 5) + 0.1 * (i % 3) for i in range(600)]
    >>> scores = []
    >>> for x in series + [30.0]:
    ...     scores.append(det.score_one(x))
    ...     det.learn_one(x)
    >>> max(scores[300:-1]) < 0.5 < scores[-1]
    True
    """

    def __init__(
        self,
        *,
        value_windows: tuple = (2000, 5000),
        shapes: tuple = ((16, 2), (256, 16)),
        memory: int = 5000,
        calibration_window: int = 5000,
        alert_surprise: float = 8.0,
        refractory: int = 100,
        quiet_factor: float = 0.5,
        warmup: int = 30,
    ) -> None:
        value_windows, shapes = tuple(map(int, value_windows)), tuple((int(w), int(b)) for w, b in shapes)
        if any(w < 2 or b < 1 or w % b for w, b in shapes):
            raise ValueError("each shape needs width >= 2 and a block size dividing it")
        if min(value_windows, default=0) < 1 or min(memory, calibration_window, warmup) < 1 or refractory < 0:
            raise ValueError("need value windows, windows and warmup >= 1, refractory >= 0")
        if not (alert_surprise > 0 and 0 <= quiet_factor < 1):
            raise ValueError("alert_surprise must be > 0 and quiet_factor in [0, 1)")
        self.value_windows = value_windows
        self.shapes = shapes
        self.memory = memory
        self.calibration_window = calibration_window
        self.alert_surprise = alert_surprise
        self.refractory = refractory
        self.quiet_factor = quiet_factor
        self.warmup = warmup

        longest = max((w for w, _ in shapes), default=1)
        self._raw: deque[float] = deque(maxlen=max(max(value_windows), memory + 2 * longest))
        self._recent: deque[float] = deque(maxlen=longest)  # the newest rows, for shapes
        self._values = [utils.SortedWindow(size=n) for n in value_windows]
        self._mems = [_ShapeMemory(w, b, memory) for w, b in shapes]
        self._dists = [utils.SortedWindow(size=calibration_window) for _ in shapes]
        self._quiet = 0  # rows of the current quiet period still to come
        self._cache: tuple | None = None  # (x, shapes, distances, score) of the last score_one

    def _evaluate(self, x: float) -> tuple[list, list, float]:
        # score_one and learn_one see the same x in turn; the shape search is the costly part.
        if self._cache is not None and self._cache[0] == x:
            return self._cache[1:]
        surprise = 0.0
        if len(self._values[0]) >= self.warmup:
            surprise = min(_value_surprise(w.data, x) for w in self._values)
        shapes, dists = [], []
        recent = np.append(np.fromiter(self._recent, float, len(self._recent)), x)
        for mem, cal in zip(self._mems, self._dists):
            f = mem.shape(recent) if len(recent) >= mem.width else None
            d = mem.distance(f) if f is not None else None
            shapes.append(f)
            dists.append(d)
            if d is not None and len(cal) >= self.warmup:
                surprise = max(surprise, _body_surprise(cal.data, d, self._distance_floor()))
        score = surprise / (surprise + self.alert_surprise)
        self._cache = (x, shapes, dists, score)
        return shapes, dists, score

    def _distance_floor(self) -> float:
        # An exactly repeating series has all distances 0; a change of a thousandth of
        # its spread is then already news, float noise is not.
        srt = self._values[-1].data
        n = len(srt)
        if not n:
            return 1e-12
        return max(1e-3 * (srt[(3 * n) // 4] - srt[n // 4]), 1e-9 * abs(srt[n // 2]), 1e-12)

    def score_one(self, x: float) -> float:
        """Anomaly score of ``x`` in [0, 1] against what was learned so far."""
        score = self._evaluate(self._check(x))[2]
        return score * self.quiet_factor if self._quiet else score

    def learn_one(self, x: float) -> None:
        x = self._check(x)
        shapes, dists, score = self._evaluate(x)
        self._cache = None
        if self._quiet:
            self._quiet -= 1
        elif score >= 0.5:
            self._quiet = self.refractory
        for mem, cal, f, d in zip(self._mems, self._dists, shapes, dists):
            if d is not None:
                cal.append(d)
            if f is not None:
                mem.add(f)
        self._raw.append(x)
        self._recent.append(x)
        for w in self._values:
            w.append(x)

    @staticmethod
    def _check(x: float) -> float:
        if x is None or not math.isfinite(x):
            raise ValueError(f"value must be a finite number, got {x!r}")
        return float(x)

    def to_state(self) -> dict:
        """Plain-JSON state: raw history, distance histories, quiet counter."""
        params = self._get_params()
        params["value_windows"] = list(self.value_windows)
        params["shapes"] = [list(s) for s in self.shapes]
        return {
            "version": STATE_VERSION,
            "params": params,
            "raw": list(self._raw),
            "dists": [list(c.unsorted_window) for c in self._dists],
            "quiet": self._quiet,
        }

    @classmethod
    def from_state(cls, state: dict) -> UnivariateDetector:
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported detector state version {state.get('version')!r}")
        det = cls(**state["params"])
        raw = [float(v) for v in state["raw"]]
        det._raw.extend(raw)
        det._recent.extend(raw)
        for w in det._values:
            for v in raw[-w.size :]:
                w.append(v)
        arr = np.asarray(raw, dtype=float)
        for mem in det._mems:
            # A shape was added for every row once `width` values existed; the memory
            # and the pending queue hold the newest ones, all within the raw history.
            keep = min(max(len(arr) - mem.width + 1, 0), len(mem.db) + mem.width)
            for end in range(len(arr) - keep + 1, len(arr) + 1):
                mem.add(mem.shape(arr[:end]))
        for cal, hist in zip(det._dists, state["dists"]):
            for d in hist:
                cal.append(float(d))
        det._quiet = int(state["quiet"])
        return det
