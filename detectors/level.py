"""A robust, sample-size-aware level detector for one series of window values."""

from __future__ import annotations

import math

from river import base

from detectors._stats import EWMeanVar
from detectors.verdict import Verdict
from detectors._params import params_of

KINDS = ("count", "ratio", "gauge")
DIRECTIONS = ("up", "down", "both")
STATE_VERSION = 1

# Jeffreys-style pseudo-counts: (k + 0.5) / (n + 1) keeps the binomial floor above
# zero when the baseline proportion is exactly 0 or 1.
_RATIO_PRIOR = 0.5
# A perfectly flat gauge has no learned spread; without a floor the first wiggle
# would be infinitely many deviations away.
_GAUGE_REL_FLOOR = 1e-3
_GAUGE_ABS_FLOOR = 1e-9
# In-band values are learned Huber-style, clipped at this many standard errors: one
# 3.5-sigma window would otherwise inflate an EW variance (alpha 0.05) by ~1.5x and
# let a real shift that follows slip in under the band.
_LEARN_CLIP = 2.0


def _clipped_second_moment(c: float) -> float:
    """E[min(Z², c²)] for standard normal Z: rescales a clipped variance to be unbiased."""
    tail = 0.5 * math.erfc(c / math.sqrt(2.0))
    density = math.exp(-0.5 * c * c) / math.sqrt(2.0 * math.pi)
    return (1.0 - 2.0 * tail) - 2.0 * c * density + 2.0 * c * c * tail


class LevelDetector(base.Base):
    """Scores each window's value against an exponentially weighted baseline.

    The standard error is the larger of the learned spread and the sampling noise a
    value of this size must have anyway (Poisson for counts, binomial for ratios), so
    a window with 3 visits cannot alert on its conversion rate. In-band values are
    learned clipped at 2 standard errors; values beyond the band are not learned but
    start a run, and a run that lasts ``relearn_after`` windows in one direction
    becomes the new baseline instead of alerting forever.

    Parameters
    ----------
    kind
        ``"count"`` (Poisson floor), ``"ratio"`` (``x`` is a proportion, ``n`` its
        denominator; binomial floor) or ``"gauge"`` (learned spread only).
    threshold
        Standardized deviation at which a value is anomalous (score 50).
    warmup
        Values learned before anything can be anomalous.
    fading_factor
        Weight of the newest value in the baseline (River's ``EWMean`` convention).
    bad_direction
        ``"up"``, ``"down"`` or ``"both"``: deviations the other way still score but
        are never ``is_anomaly``.
    relearn_after
        Consecutive out-of-band windows in one direction after which the new level
        is accepted.

    Examples
    --------

    >>> from detectors import LevelDetector
    >>> det = LevelDetector(kind="count", bad_direction="down")
    >>> for x in [98, 103, 101, 97, 100, 102, 99, 104, 96, 100] * 2:
    ...     det.learn_one(x)
    >>> round(det.score_one(101).score)
    2
    >>> v = det.score_one(0)
    >>> v.is_anomaly, v.direction, v.severity, round(v.expected)
    (True, 'down', 'critical', 100)
    >>> det.score_one(250).is_anomaly  # up is not bad for this series
    False

    """

    def __init__(
        self,
        *,
        kind: str = "gauge",
        threshold: float = 4.0,
        warmup: int = 10,
        fading_factor: float = 0.05,
        bad_direction: str = "both",
        relearn_after: int = 30,
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        if bad_direction not in DIRECTIONS:
            raise ValueError(f"bad_direction must be one of {DIRECTIONS}, got {bad_direction!r}")
        if not (math.isfinite(threshold) and threshold > 0):
            raise ValueError("threshold must be a positive number")
        if not 0 < fading_factor <= 1:
            raise ValueError("fading_factor must be in (0, 1]")
        if warmup < 0 or relearn_after < 1:
            raise ValueError("warmup must be >= 0 and relearn_after >= 1")
        self.kind = kind
        self.threshold = threshold
        self.warmup = warmup
        self.fading_factor = fading_factor
        self.bad_direction = bad_direction
        self.relearn_after = relearn_after

        self._baseline = EWMeanVar(fading_factor)
        self._n_bar = EWMeanVar(fading_factor)  # typical ratio denominator
        self._n_learned = 0
        self._clip = min(_LEARN_CLIP, threshold)
        self._var_scale = 1.0 / _clipped_second_moment(self._clip)
        self._reset_run()

    @property
    def n_learned(self) -> int:
        return self._n_learned

    @property
    def expected(self) -> float | None:
        return self._baseline.mean

    def score_one(self, x: float | None, n: float | None = None) -> Verdict:
        """Score ``x`` (with sample size ``n`` for ratios) without learning it."""
        x, n = self._check(x, n)
        mean = self._baseline.mean
        if x is None or mean is None:  # no sample, or nothing learned yet
            return Verdict(0.0, False, mean, None, None, None, None, 0.0)
        se = self._standard_error(n)
        lower, upper = mean - self.threshold * se, mean + self.threshold * se
        if self.kind != "gauge":  # counts and proportions cannot go below zero
            lower = max(lower, 0.0)
        if self._n_learned < self.warmup:
            return Verdict(0.0, False, mean, lower, upper, None, None, 0.0)

        z = (x - mean) / se
        return Verdict.from_z(
            z, threshold=self.threshold, bad_direction=self.bad_direction, expected=mean, lower=lower, upper=upper
        )

    def learn_one(self, x: float | None, n: float | None = None) -> None:
        """Update the baseline with ``x``; out-of-band values only count toward a shift."""
        x, n = self._check(x, n)
        if x is None:
            return
        # Down-weight ratios from thin windows: 0/3 must not move a rate learned from 400s.
        w = 1.0
        if n is not None:
            if self._n_bar.mean:
                w = min(1.0, n / self._n_bar.mean)
            self._n_bar.update(n)

        # A thin window's squared deviation is inflated by n_bar / n; scaling it by w
        # keeps the learned variance that of a typical window.
        mean = self._baseline.mean
        if mean is None or self._n_learned < self.warmup:
            self._baseline.update(x, w, var_scale=w)  # no trustworthy band to clip to yet
            self._n_learned += 1
            return
        se = self._standard_error(n)
        z = (x - mean) / se
        direction = "up" if z > 0 else "down"
        # Hysteresis: inside a run, half the threshold keeps it going, so a shift that
        # straddles the band edge is not absorbed one in-band window at a time.
        if abs(z) >= (self.threshold / 2 if direction == self._run_dir else self.threshold):
            self._extend_run(x, w, direction)
            return
        if w >= 0.5:  # a thin window is in band because it says little, not because a shift ended
            self._reset_run()
        bound = self._clip * se
        clipped = min(max(x, mean - bound), mean + bound)
        self._baseline.update(clipped, w, var_scale=self._var_scale * w)
        self._n_learned += 1

    def _extend_run(self, x: float, w: float, direction: str) -> None:
        if direction != self._run_dir:
            self._reset_run()
            self._run_dir = direction
        self._run.update(x, w)
        self._run_len += 1
        if self._run_len >= self.relearn_after:
            # Never learning outliers would never adapt either (river#948): a long
            # enough run in one direction is the new level, with its own spread.
            self._baseline.mean, self._baseline.var = self._run.mean, self._run.var
            self._reset_run()

    def _reset_run(self) -> None:
        self._run = EWMeanVar(0.0)  # fading 0 + warm start = plain weighted mean/var
        self._run_dir: str | None = None
        self._run_len = 0

    def _standard_error(self, n: float | None) -> float:
        mean = self._baseline.mean
        if self.kind == "count":
            floor = math.sqrt(max(mean, 1.0))
        elif self.kind == "ratio":
            p = min(max(mean, 0.0), 1.0)  # complaints per invoice may exceed 1
            p = (p * n + _RATIO_PRIOR) / (n + 2 * _RATIO_PRIOR)
            floor = math.sqrt(p * (1.0 - p) / n)
        else:
            floor = max(_GAUGE_ABS_FLOOR, _GAUGE_REL_FLOOR * abs(mean))
        return max(math.sqrt(self._baseline.var), floor)

    def _check(self, x: float | None, n: float | None) -> tuple[float | None, float | None]:
        if n is not None and not (math.isfinite(n) and n >= 0):
            raise ValueError(f"sample size must be a finite number >= 0, got {n!r}")
        if self.kind == "ratio" and not n:
            return None, None  # a ratio without a denominator says nothing
        if x is None or not math.isfinite(x):
            raise ValueError(f"value must be a finite number, got {x!r}")
        if x < 0 and self.kind != "gauge":
            raise ValueError(f"a {self.kind} cannot be negative, got {x!r}")
        return float(x), (float(n) if self.kind == "ratio" else None)

    def to_state(self) -> dict:
        """Everything needed to continue exactly where this detector is, as plain JSON."""
        return {
            "version": STATE_VERSION,
            "params": params_of(self),
            "learned": self._n_learned,
            "baseline": self._baseline.to_list(),
            "n_bar": self._n_bar.to_list(),
            "run": [self._run_dir, self._run_len, self._run.to_list()],
        }

    @classmethod
    def from_state(cls, state: dict) -> LevelDetector:
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported detector state version {state.get('version')!r}")
        det = cls(**state["params"])
        det._n_learned = state["learned"]
        det._baseline.load(state["baseline"])
        det._n_bar.load(state["n_bar"])
        det._run_dir, det._run_len, run = state["run"]
        det._run.load(run)
        return det
