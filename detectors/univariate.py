"""kohta's default detector for a plain numeric stream: one value per row, no metadata.

Three online novelty statistics, each turned into a *surprise* (-ln of an estimated
tail probability against that statistic's own trailing history) so that they share
one scale and can be combined by ``max``:

1. **Value.** Where ``x`` falls among the last ``value_window`` values. Inside the
   body the empirical rank gives the tail probability; beyond the upper (lower) 10 %
   the tail is extrapolated as an exponential fitted to the exceedances
   (peaks-over-threshold with a shape-0 GPD), so a record is scored by how far past
   the usual extremes it goes, not just "beyond everything seen".
2. **Shapes.** For each ``(width, block)`` in ``shapes``, the last ``width`` values as
   ``width // block`` block means, and the distance to the nearest earlier such shape
   that does not overlap it (an online, left-only matrix profile). A short shape
   catches odd wiggles and bursts; a long one a missing or distorted daily cycle that
   no single value reveals. Distances are calibrated by an exponential tail
   extrapolated from their body (median to 90th percentile), which early warm-up
   transients cannot stretch the way a fit to the top exceedances would.

The combined surprise ``s`` is reported as ``s / (s + alert_surprise)`` (0.5 at the
alert level). After an alert the detector stays quiet for ``refractory`` rows (scores
multiplied by ``quiet_factor``): one incident is one alert, not a burst of them.

River pieces: ``river.base.Base`` (parameters, ``clone``) and
``river.utils.SortedWindow`` (rolling order statistics in pure Python, so its content
is plain JSON). Shape memories are numpy ring buffers rebuilt from the raw history on
``from_state``, so the state holds raw values, not derived vectors.
"""

from __future__ import annotations

import bisect
import math
from collections import deque

import numpy as np
from river import base, utils

STATE_VERSION = 1
_TAIL = 0.1  # fraction of the window in each tail of the value model
_LN5 = math.log(5.0)  # median to 90th percentile is a factor 5 in exceedance probability


def _value_surprise(srt: list[float], v: float) -> float:
    """-ln P(as extreme as v), two-sided, against the sorted window ``srt``."""
    n = len(srt)
    k = max(1, int(_TAIL * n))
    med = srt[n // 2]
    spread = max(srt[(3 * n) // 4] - srt[n // 4], 1e-6 * abs(med), 1e-12)
    if v > med:
        hi = srt[n - k - 1]
        if v > hi:  # exponential tail fitted to the k largest values
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


def _body_surprise(srt: list[float], v: float, floor: float) -> float:
    """-ln P(D > v) for a non-negative distance, exponential tail from median..q90."""
    n = len(srt)
    q50, q90 = srt[(n - 1) // 2], srt[int(0.9 * (n - 1))]
    return max(0.0, math.log(2.0) + (v - q50) / max(q90 - q50, floor) * _LN5)


class _ShapeMemory:
    """Nearest-neighbour distance of the current shape to non-overlapping past shapes."""

    def __init__(self, width: int, block: int, memory: int) -> None:
        self.width, self.block = width, block
        self.db = np.empty((memory, width // block))
        self.size = self.pos = 0
        # A shape only becomes searchable once it no longer overlaps the query: a
        # shape always matches itself shifted by one row.
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

    Parameters
    ----------
    value_window
        Past values the value model ranks against.
    shapes
        ``(width, block)`` pairs: shape lengths and the block size they are averaged over.
    memory
        Past shapes searched for a nearest neighbour (per shape length).
    calibration_window
        Past distances each shape's surprise is calibrated against.
    alert_surprise
        Surprise (-ln p) that scores 0.5 and opens a quiet period.
    refractory
        Rows after an alert during which scores are multiplied by ``quiet_factor``.
    quiet_factor
        Damping in the quiet period; below 0.5, so nothing in it reaches the alert level.
    warmup
        Values (and distances) a model needs before it contributes a surprise.

    Examples
    --------

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
        value_window: int = 5000,
        shapes: tuple = ((16, 2), (256, 16)),
        memory: int = 5000,
        calibration_window: int = 5000,
        alert_surprise: float = 8.0,
        refractory: int = 50,
        quiet_factor: float = 0.5,
        warmup: int = 30,
    ) -> None:
        shapes = tuple((int(w), int(b)) for w, b in shapes)
        if any(w < 2 or b < 1 or w % b for w, b in shapes):
            raise ValueError("each shape needs width >= 2 and a block size dividing it")
        if min(value_window, memory, calibration_window, warmup) < 1 or refractory < 0:
            raise ValueError("windows and warmup must be >= 1, refractory >= 0")
        if not (alert_surprise > 0 and 0 <= quiet_factor < 1):
            raise ValueError("alert_surprise must be > 0 and quiet_factor in [0, 1)")
        self.value_window = value_window
        self.shapes = shapes
        self.memory = memory
        self.calibration_window = calibration_window
        self.alert_surprise = alert_surprise
        self.refractory = refractory
        self.quiet_factor = quiet_factor
        self.warmup = warmup

        longest = max((w for w, _ in shapes), default=1)
        self._raw: deque[float] = deque(maxlen=max(value_window, memory + 2 * longest))
        self._recent: deque[float] = deque(maxlen=longest)  # the newest rows, for shapes
        self._values = utils.SortedWindow(size=value_window)
        self._mems = [_ShapeMemory(w, b, memory) for w, b in shapes]
        self._dists = [utils.SortedWindow(size=calibration_window) for _ in shapes]
        self._quiet = 0  # rows of the current quiet period still to come
        self._cache: tuple | None = None  # (x, shapes, distances, score) of the last score_one

    def _evaluate(self, x: float) -> tuple[list, list, float]:
        if self._cache is not None and self._cache[0] == x:
            return self._cache[1:]
        surprise = 0.0
        if len(self._values) >= self.warmup:
            surprise = _value_surprise(self._values.data, x)
        shapes, dists = [], []
        recent = np.fromiter(self._recent, float, len(self._recent))
        recent = np.append(recent, x)
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
        # its spread is then already news, but float noise is not.
        srt, n = self._values.data, len(self._values)
        spread = srt[(3 * n) // 4] - srt[n // 4] if n else 0.0
        return max(1e-3 * spread, 1e-9 * abs(srt[n // 2]) if n else 0.0, 1e-12)

    def score_one(self, x: float) -> float:
        """Anomaly score of ``x`` in [0, 1] against what was learned so far."""
        x = self._check(x)
        score = self._evaluate(x)[2]
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
        self._values.append(x)

    @staticmethod
    def _check(x: float) -> float:
        if x is None or not math.isfinite(x):
            raise ValueError(f"value must be a finite number, got {x!r}")
        return float(x)

    def to_state(self) -> dict:
        """Plain-JSON state: raw history, distance histories, quiet counter."""
        params = self._get_params()
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
        for v in raw[-det.value_window :]:
            det._values.append(v)
        arr = np.asarray(raw, dtype=float)
        for mem in det._mems:
            # Shapes were added for every row once `width` values existed; the memory
            # and pending queue hold the newest ones, which the raw history covers.
            made = len(arr) - mem.width + 1
            keep = min(max(made, 0), len(mem.db) + mem.width)
            for end in range(len(arr) - keep + 1, len(arr) + 1):
                mem.add(mem.shape(arr[:end]))
        for cal, hist in zip(det._dists, state["dists"]):
            for d in hist:
                cal.append(float(d))
        det._quiet = int(state["quiet"])
        return det
