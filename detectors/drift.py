"""A drift test for sampled series: CUSUMs of standardized deviations from a slow baseline.

The seasonal detector's short-term level follows a series within half an hour, so
a shift that is small next to one window's sampling error (a store region's
smileys turning sad on 5 answers a window) or that creeps in over days (an NPS
losing half a point an hour) is absorbed before any single window looks odd. This
test keeps its own long-run baseline, learned slowly and not from windows while
they build evidence, and adds up the log-likelihood ratio of "shifted by ``delta`` typical
standard errors" against "on the baseline", window by window (Page's CUSUM). A
window counts by its information: a window with a quarter of the typical sample
size moves the sums a quarter as much.
"""

from __future__ import annotations

import math

from river import base

from detectors._stats import EWMeanVar

# Sums are capped this many typical windows of expected decline above the
# threshold, so that an alarm ends about as soon after its cause as it began.
_FADE = 30.0
# Held-back windows are learned once every sum is below this (log-likelihood
# units: odds of e to 1 are no case).
_NOTHING = 1.0
# Hysteresis: an alarm holds while its evidence stays above this share of the threshold.
_HOLD = 0.5


class DriftTest(base.Base):
    """Two-sided CUSUMs, one per reference shift, against a slow baseline.

    Feed each judged window's value ``y`` with its variance ``var`` and the variance
    ``typical_var`` of a window with a typical sample (both including model error).
    With ``a = delta · sqrt(typical_var / var)`` and ``z = (y − baseline) / sqrt(var)``
    the upward sum grows by ``a·z − a²/2 − a·k`` and the downward one by
    ``−a·z − a²/2 − a·k``, floored at 0. ``k`` is the baseline's own standard error
    in units of the window's, an extra slack, so a baseline learned from a day of
    data does not read its own noise as drift. A sum that reaches its threshold
    alarms; ``evidence`` is the largest sum over its threshold, signed by its direction.

    ``threshold`` is the log-likelihood ratio at which a sum for a shift of one
    standard error alarms. A sum for a smaller shift drifts down more slowly on
    noise, so the same threshold would alarm more often: each sum gets the threshold
    with the same average run length on pure noise instead (Siegmund's
    approximation, ``(e^b − b − 1) / (delta²/2)`` windows with ``b = h + 1.166·delta``).
    At 11 that is about 380 000 typical windows between false alarms per sum (four
    sums: about one a quarter for a series of minutes), with thresholds 9.1 for a
    shift of 0.25 and 11.2 for 2.

    Parameters
    ----------
    shifts
        Reference shifts in standard errors of a typical window: a small one for
        slow drifts, a large one for sudden shifts on thin windows.
    threshold
        Log-likelihood ratio at which the sum for a shift of one standard error
        alarms; the others get the same false-alarm rate.
    memory
        Typical windows of memory of the baseline (10 080: a week of minutes).
    relearn_after
        Windows in alarm in one direction after which their mean is the new baseline
        (360: six hours of minutes). Much longer than an outage, which must not
        become the long-run normal, and still a bound on how long a lasting shift alarms.

    Examples
    --------

    A score of 3.2 with a standard error of 0.4 per window, then a quarter of a
    standard error lower: no single window is odd, but the drift test sees it.

    >>> import random
    >>> rng = random.Random(1)
    >>> test = DriftTest()
    >>> for _ in range(2000):
    ...     test.learn(rng.gauss(3.2, 0.4), 0.16, 0.16)
    >>> test.evidence(3.2, 0.16, 0.16) < 1
    True
    >>> alarmed = None
    >>> for i in range(2000):
    ...     test.learn(rng.gauss(3.1, 0.4), 0.16, 0.16)
    ...     if alarmed is None and test.evidence(3.1, 0.16, 0.16) <= -1:
    ...         alarmed = i
    >>> 0 < alarmed < 400
    True

    """

    def __init__(self, *, shifts: tuple[float, ...] = (0.25, 2.0), threshold: float = 11.0,
                 memory: float = 10080.0, relearn_after: int = 360) -> None:
        if not shifts or not all(isinstance(d, (int, float)) and d > 0 for d in shifts):
            raise ValueError(f"shifts must be positive numbers, got {shifts!r}")
        if not threshold > 0 or not memory >= 1 or relearn_after < 1:
            raise ValueError("threshold must be > 0, memory >= 1 and relearn_after >= 1")
        self.shifts = tuple(float(d) for d in shifts)
        self.threshold = threshold
        self.memory = memory
        self.relearn_after = relearn_after
        self._baseline = EWMeanVar(1.0 / memory)
        # The recent level, never frozen: what a lasting shift is relearned as (a mean of
        # the alarming windows alone would be biased by having been picked for alarming).
        self._recent = EWMeanVar(1.0 / relearn_after)
        run_length = _run_length(threshold, 1.0)
        self._h = [_threshold_for(run_length, d) for d in self.shifts]
        self._sums = [0.0] * (2 * len(self.shifts))  # upward sums, then downward ones
        self._held = [0.0, 0.0]  # windows not learned yet: total weight, weighted sum
        self._reset_run()
        # The baseline may speak once its standard error is below half the smallest shift.
        self._min_weight = 4.0 / min(self.shifts) ** 2

    @property
    def baseline(self) -> float | None:
        return self._baseline.mean

    def _step(self, y: float, var: float, typical_var: float) -> list[float] | None:
        """The sums after this window, or None while the baseline is too young to judge."""
        b = self._baseline
        if b.mean is None or b.weight < self._min_weight or var <= 0 or typical_var <= 0:
            return None
        sd = math.sqrt(var)
        rel = math.sqrt(typical_var / var)  # this window's information vs a typical one
        z = (y - b.mean) / sd
        # Standard error of the baseline in this window's units: a weighted mean of
        # ``W`` typical windows (at most about 2 x memory of them with forgetting).
        k = rel / math.sqrt(min(b.weight, 2.0 * self.memory))
        m = len(self.shifts)
        sums = list(self._sums)
        for i, delta in enumerate(self.shifts):
            a = delta * rel
            drag = 0.5 * a * a + a * k
            # Without a shift a sum declines by delta²/2 a typical window: the cap
            # lets an alarm end within _FADE typical windows of its cause.
            cap = self._h[i] + _FADE * 0.5 * delta * delta
            sums[i] = min(max(0.0, sums[i] + a * z - drag), cap)
            sums[m + i] = min(max(0.0, sums[m + i] - a * z - drag), cap)
        return sums

    def _ratio(self, sums: list[float]) -> float:
        """The largest sum in thresholds, signed by its direction."""
        h, m = self._h, len(self._h)
        up = max(s / t for s, t in zip(sums[:m], h))
        down = max(s / t for s, t in zip(sums[m:], h))
        return up if up >= down else -down

    def _alarms(self, ratio: float) -> bool:
        """The threshold alarms; half of it holds an alarm in its direction."""
        if abs(ratio) >= 1.0:
            return True
        return self._run_up is not None and (ratio > 0) == self._run_up and abs(ratio) >= _HOLD

    def evidence(self, y: float, var: float, typical_var: float) -> float:
        """The signed evidence after this window in thresholds where it alarms, else 0; no learning.

        An alarm holds down to half the threshold, so a drift whose evidence hovers
        at the threshold does not flap.
        """
        sums = self._step(y, var, typical_var)
        if sums is None:
            return 0.0
        ratio = self._ratio(sums)
        return ratio if self._alarms(ratio) else 0.0

    def learn(self, y: float, var: float, typical_var: float, weight: float = 1.0) -> None:
        """Add this window to the sums; the baseline learns it once its evidence came to nothing.

        Windows are held back while any sum is above 1 (odds of e to 1) and learned
        together when all are back below it: a drift that is building its case is not absorbed by the
        baseline it is measured against, and windows that alarm are never learned.
        Holding back all windows, high and low, keeps the baseline unbiased.
        """
        sums = self._step(y, var, typical_var)
        self._recent.update(y, weight)
        if sums is None:  # the baseline is still young: learn everything
            self._baseline.update(y, weight)
            return
        self._sums = sums
        ratio = self._ratio(sums)
        if self._alarms(ratio):
            self._extend_run(ratio > 0)
            return
        self._reset_run()
        held = self._held
        held[0] += weight
        held[1] += weight * y
        if max(sums) < _NOTHING and held[0] > 0.0:
            self._baseline.update(held[1] / held[0], held[0])
            self._held = [0.0, 0.0]

    def _extend_run(self, up: bool) -> None:
        # Alarms that never end would be river#948 again: a shift that holds for
        # ``relearn_after`` windows is the new normal, and the evidence is spent.
        if up != self._run_up:
            self._run_up, self._run_len = up, 0
        self._run_len += 1
        if self._run_len >= self.relearn_after:
            self.rebase(self._recent.mean, min(self._baseline.weight, float(self.relearn_after)))

    def rebase(self, level: float, weight: float) -> None:
        """Accept ``level`` as the new normal, known as well as ``weight`` typical windows.

        The caller's own test adopted a shift (after an outage, say), or this test's
        alarm lasted ``relearn_after`` windows. The evidence is spent, and the small
        weight widens the slack ``k`` until the baseline has learned more.
        """
        if self._baseline.mean is None:
            return
        self._baseline.mean, self._baseline.weight = level, max(weight, 1.0)
        self._sums = [0.0] * len(self._sums)
        self._held = [0.0, 0.0]  # from before the new normal
        self._reset_run()

    def _reset_run(self) -> None:
        self._run_up: bool | None = None
        self._run_len = 0

    def to_list(self) -> list:
        return [self._baseline.to_list(), self._recent.to_list(), self._sums, self._held,
                self._run_up, self._run_len]

    def load(self, state: list) -> DriftTest:
        baseline, recent, sums, held, self._run_up, self._run_len = state
        if len(sums) != len(self._sums):
            raise ValueError("drift state does not match the number of shifts")
        self._baseline.load(baseline)
        self._recent.load(recent)
        self._sums, self._held = list(sums), list(held)
        return self


def _run_length(h: float, delta: float) -> float:
    """Siegmund's average run length of a CUSUM on N(0, 1) noise, in windows."""
    b = h + 1.166 * delta
    return (math.exp(b) - b - 1.0) / (0.5 * delta * delta)


def _threshold_for(run_length: float, delta: float) -> float:
    """The threshold at which the CUSUM for ``delta`` has this average run length."""
    target, b = run_length * 0.5 * delta * delta, 1.0
    for _ in range(50):  # b = log(target + b + 1) converges in a few steps
        b = math.log(target + b + 1.0)
    return max(b - 1.166 * delta, 0.1)
