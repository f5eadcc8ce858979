"""kohta's default detector: a seasonal, sample-size-aware baseline per series."""

from __future__ import annotations

import math
from typing import NamedTuple

from river import base

from detectors._season import (PROFILES, LocalClock, Profile, check_observation, sampling,
                               log_p_z, skew_y, skew_z, zero_count_log_p, zero_count_z)
from detectors._stats import EWMeanVar
from detectors.drift import DriftTest
from detectors.level import _clipped_second_moment
from detectors.verdict import Verdict
from detectors._params import params_of

KINDS = ("count", "ratio", "share", "nps", "mean")
DIRECTIONS = ("up", "down", "both")
STATE_VERSION = 1

# Poisson variance floor: keeps z finite where the profile has learned ~0 events;
# the skew transform is still conservative at this mean.
_COUNT_FLOOR = 0.05
# A count run where the profile expects less than this cannot be relearned as a
# multiple of the profile (0 × anything is 0); it is written into the profile.
_COUNT_RELEARN_MIN = 1.0
# The model-error prior (as large as the sampling error) is worth this many windows.
_PRIOR_WINDOWS = 30.0
# In-band values are learned clipped at this many standard errors (see level.py).
_LEARN_CLIP = 2.0
_NO_DATA = Verdict(0.0, False, None, None, None, None, None, 0.0)
# Where values can lie; the band is clipped to it.
_RANGE = {"count": (0.0, math.inf), "ratio": (0.0, math.inf), "share": (0.0, 1.0),
          "nps": (-100.0, 100.0), "mean": (-math.inf, math.inf)}


class _Window(NamedTuple):
    """What one window is judged against; the tail is only there when it has data."""

    loc: tuple  # profile buckets around the window and the position between them
    m: float  # the profile's value
    e: float  # expected value: the profile with the short-term level
    s2: float = 0.0  # sampling variance
    g: float = 0.0  # scale of model error
    sd: float = 0.0  # standard error, all included
    gamma: float = 0.0  # skewness
    young: bool = False  # the profile is still being learned here
    z: float = 0.0
    silence: float = 0.0  # count of 0: log of its probability


class SeasonalDetector(base.Base):
    """Scores each window against an hour-of-day (and weekday/weekend) profile.

    The expected value is a piecewise-linear daily profile (per day type) times a
    short-term level for counts, or plus it for ratios, shares, NPS and means. The
    standard error is sampling noise from the *expected* value (Poisson, binomial, or
    the per-answer variance over ``n``) plus a learned model error, and z is
    skew-corrected, so thin windows and quiet hours are judged by what they can say.
    A count of 0 is judged by its exact probability (silence). Out-of-band values are
    not learned; ``relearn_after`` of them in one direction become the new level.

    Parameters
    ----------
    kind
        ``"count"``, ``"ratio"``/``"share"`` (``x = k/n``), ``"nps"`` (points, ``n``
        answers) or ``"mean"`` (``n`` events).
    threshold
        |z| at which a value is anomalous (score 50); critical at twice that.
    warmup
        Windows learned before anything can be anomalous.
    bad_direction
        ``"up"``, ``"down"`` or ``"both"``; the other way still scores.
    window_seconds
        Window length; ``t`` is the window start, its centre picks the profile hour.
    profile
        ``"day"`` (24 hours), ``"weekpart"`` (24 hours × weekday/weekend) or
        ``"week"`` (168 hours); ``None`` picks ``"weekpart"`` for counts, else ``"day"``.
    timezone
        IANA zone whose clock (and weekend) the traffic follows.
    min_n
        Windows with a smaller sample are learned (lightly) but not judged.
    level_memory
        Windows of memory of the short-term level at full traffic (longer when quiet).
    profile_memory
        Visits of memory of a profile hour (a weekday hour is visited 5 times a week).
    variance_memory
        Windows of memory of the model error and of typical traffic.
    relearn_after
        Consecutive out-of-band windows in one direction that become the new level.
    relearn_silence
        Whether a run of zero counts may become the new level; ``None``: only when
        ``bad_direction="up"``. Otherwise a dead channel alerts until it is back.

    Examples
    --------

    A count that follows a daily rhythm (10 to 100 per minute), from a Monday on:

    >>> import math
    >>> from detectors import SeasonalDetector
    >>> det = SeasonalDetector(kind="count", bad_direction="down")
    >>> def rate(t):
    ...     return 55 - 45 * math.cos(2 * math.pi * (t / 3600 - 4) / 24)
    >>> monday, wednesday = 4 * 86400, 6 * 86400  # 1970-01-05 and -07
    >>> for t in range(monday, wednesday + 16 * 3600, 60):
    ...     det.learn_one(round(rate(t)), t=t)
    >>> t = wednesday + 16 * 3600  # the peak hour
    >>> v = det.score_one(round(rate(t)), t=t)
    >>> v.is_anomaly, round(v.expected)
    (False, 100)
    >>> v = det.score_one(20, t=t)
    >>> v.is_anomaly, v.direction, v.severity
    (True, 'down', 'critical')
    >>> det.score_one(0, t=wednesday + 6 * 3600).is_anomaly  # 16 expected: 0 is silence
    True
    >>> det.score_one(0, t=wednesday + 4 * 3600).is_anomaly  # 10 at night: 0 happens (p = 5e-5)
    False

    A conversion rate of 8 %: a window's sample size decides what a miss means.

    >>> conv = SeasonalDetector(kind="ratio", min_n=1)
    >>> for t in range(0, 86400, 60):
    ...     conv.learn_one(0.08, t=t, n=400)
    >>> conv.score_one(0 / 3, t=86400, n=3).is_anomaly
    False
    >>> conv.score_one(4 / 400, t=86400, n=400).is_anomaly
    True

    """

    def __init__(
        self,
        *,
        kind: str = "count",
        threshold: float = 4.0,
        warmup: int = 30,
        bad_direction: str = "both",
        window_seconds: float = 60.0,
        profile: str | None = None,
        timezone: str = "UTC",
        min_n: float = 5,
        level_memory: float = 30,
        profile_memory: float = 4.0,
        variance_memory: float = 1440,
        relearn_after: int = 30,
        relearn_silence: bool | None = None,
        accumulate: float = 11.0,
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        if bad_direction not in DIRECTIONS:
            raise ValueError(f"bad_direction must be one of {DIRECTIONS}, got {bad_direction!r}")
        if profile is not None and profile not in PROFILES:
            raise ValueError(f"profile must be one of {tuple(PROFILES)} or None, got {profile!r}")
        for name in ("threshold", "window_seconds", "level_memory", "profile_memory", "variance_memory"):
            value = locals()[name]
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        if warmup < 0 or relearn_after < 1 or not min_n >= 0 or not accumulate >= 0:
            raise ValueError("warmup, min_n and accumulate must be >= 0 and relearn_after >= 1")
        self.kind = kind
        self.threshold = threshold
        self.warmup = warmup
        self.bad_direction = bad_direction
        self.window_seconds = window_seconds
        self.profile = profile
        self.timezone = timezone
        self.min_n = min_n
        self.level_memory = level_memory
        self.profile_memory = profile_memory
        self.variance_memory = variance_memory
        self.relearn_after = relearn_after
        self.relearn_silence = relearn_silence
        self.accumulate = accumulate

        self._count = kind == "count"
        self._clock = LocalClock(timezone)
        per_hour = 3600.0 / window_seconds  # the tent weight one visit gives a bucket
        self._profile = Profile(profile or ("weekpart" if self._count else "day"),
                                cap=max(1.0, per_hour * profile_memory))
        self._mature = 0.5 * per_hour  # weight at which a bucket counts as learned
        self._level = EWMeanVar(1.0 / level_memory, warm_start=False)  # × or + the profile
        self._typical = EWMeanVar(1.0 / variance_memory)  # profile count, or n
        self._unit_var = EWMeanVar(1.0 / variance_memory)  # nps/mean: variance of one answer
        self._excess = EWMeanVar(1.0 / variance_memory)  # model error beyond sampling
        self._learned = 0
        self._silence = 0.0  # log-probability of the zero counts since the last event
        self._clip = min(_LEARN_CLIP, threshold)
        self._clip_scale = 1.0 / _clipped_second_moment(self._clip)
        self._relearn_silence = bad_direction == "up" if relearn_silence is None else relearn_silence
        self._cache: tuple | None = None  # score_one's work, reused by learn_one
        # Sampled kinds: small, persistent shifts against a slow baseline (CUSUM).
        self._drift = DriftTest(threshold=accumulate) if accumulate and not self._count else None
        self._reset_run()

    @property
    def n_learned(self) -> int:
        return self._learned

    # --- scoring -------------------------------------------------------------

    def score_one(self, x: float | None, *, t: float, n: float | None = None,
                  se: float | None = None) -> Verdict:
        """Score the window starting at ``t`` without learning it."""
        obs = check_observation(self.kind, x, n, se)
        a = self._assess(float(t), obs)
        if a is None:
            return _NO_DATA
        e, sd, gamma, z = a.e, a.sd, a.gamma, a.z
        if obs is None:
            return Verdict(0.0, False, e, None, None, None, None, 0.0)
        lo, hi = _RANGE[self.kind]
        lower = min(max(e + sd * skew_y(-self.threshold, gamma), lo), hi)
        upper = min(max(e + sd * skew_y(self.threshold, gamma), lo), hi)
        n = obs[1]
        if self._learned < self.warmup or (not self._count and n < self.min_n):
            return Verdict(0.0, False, e, lower, upper, None, None, 0.0)
        return Verdict.from_z(
            self._with_drift(z, a, obs), threshold=self.threshold, bad_direction=self.bad_direction,
            expected=e, lower=lower, upper=upper,
        )

    def _drift_inputs(self, a: _Window, n: float, y: float) -> tuple[float, float, float]:
        """The drift test's view of a window: its value on the profile's average hour, its
        variance and the variance of a window with a typical sample (model error included).

        The value is moved by the profile's offset from its daily mean, so an hour that is
        always higher is not read as drift, while a drift of every hour still is. The
        deviations are not skew-corrected: their sum is what counts, and the raw ones
        have mean 0 where a 0-or-1 count of rare events is far from normal. Nor is the
        variance the window's own (NPS and means): a high mean of skewed values comes
        with a high standard error, a low one with a low one, and dividing each by its
        own would tilt the sum of deviations downwards. The learned variance of one
        answer over ``n`` is the same for both.
        """
        typical = self._typical.mean or n
        model = max(self._excess.mean or 0.0, 0.0) * a.g
        unit = self._unit_var.mean if self.kind in ("nps", "mean") else None
        s2 = unit / n if unit else a.s2
        return y - (a.m - self._profile.mean()), s2 + model, s2 * n / typical + model

    def _with_drift(self, z: float, a: _Window, obs: tuple) -> float:
        """z, or the drift test's evidence on the threshold's scale where that is larger."""
        if self._drift is None:
            return z
        evidence = self._drift.evidence(*self._drift_inputs(a, obs[1], obs[0]))
        if abs(evidence) * self.threshold > abs(z):
            return evidence * self.threshold
        return z

    def _assess(self, t: float, obs: tuple | None) -> _Window | None:
        """The baseline of the window at ``t`` and, with data, its z; None before any data."""
        if not math.isfinite(t):
            raise ValueError(f"t must be a finite epoch time, got {t!r}")
        key = (t, obs)
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        loc = self._profile.locate(self._local_hours(t))
        m = self._profile.predict(loc)
        if m is None:
            return None
        level = self._level.mean
        if self._count:
            e = max(m, 0.0) * (1.0 if level is None else level)
        else:
            e = m + (level or 0.0)
        if obs is None:
            return _Window(loc, m, e)
        x, n, se = obs
        s2, skew, g = sampling(self.kind, e, n, se, self._unit_var.mean, _COUNT_FLOOR)
        var = max(s2 + max(self._excess.mean or 0.0, 0.0) * g, (1e-9 + 1e-3 * abs(e)) ** 2)
        # Where the profile is still being learned (the first visit of an hour, the
        # first weekend) it is little more than a running level: widen the band, at most
        # 2x, which keeps the first day quiet and a new channel's silence still loud.
        learned = self._profile.weight(loc)
        young = learned < self._mature
        if young:
            var /= max(learned / self._mature, 0.25)
        sd = math.sqrt(var)
        gamma = skew * (s2 / var) ** 1.5  # model error is symmetric: it dilutes the skew
        z = skew_z((x - e) / sd, gamma)
        silence = 0.0
        if self._count and x == 0:
            silence = zero_count_log_p(e, (var - s2) / g if g > 0 else 0.0)
            # Silence adds up: the probability of every zero since the last event. It
            # is the p-value of how long the channel has been silent, so one test per
            # window, as for a single zero; 0 where 10 are expected is p = 5e-5, twice
            # in a row p = 2e-9.
            z = min(z, log_p_z(self._silence + silence))
        elif x == 0 and n and e > 0 and self.kind in ("ratio", "share"):
            # None of n: the same exact zero rule, in counts of successes (e·n expected,
            # the model's additive error on p scaled to relative error on e).
            z = min(z, zero_count_z(e * n, max(var - s2, 0.0) / (e * e)))
        if (x - e) * z < 0:  # the skew moves the median off the mean; so close is nothing
            z = 0.0
        result = _Window(loc, m, e, s2, g, sd, gamma, young, z, silence)
        self._cache = (key, result)
        return result

    def _local_hours(self, t: float) -> float:
        return self._clock.hours(t + 0.5 * self.window_seconds)  # the window's centre

    # --- learning ------------------------------------------------------------

    def learn_one(self, x: float | None, *, t: float, n: float | None = None,
                  se: float | None = None) -> None:
        """Learn the window starting at ``t``; out-of-band values only count toward a shift."""
        obs = check_observation(self.kind, x, n, se)
        if obs is None:
            return
        t = float(t)  # a NumPy scalar would leak into the JSON state through the profile
        a = self._assess(t, obs)
        self._cache = None
        x, n, se = obs
        if a is None:  # the very first value starts the profile and the scales
            self._profile.learn(self._profile.locate(self._local_hours(t)), x, 1.0)
            self._level.update(1.0 if self._count else 0.0)
            self._typical.update(x if self._count else n)
            if se:
                self._unit_var.update(n * se * se)
            self._learned = 1
            return
        loc, m, e, s2, g, sd, gamma, young, z, silence = a
        self._silence = self._silence + silence if self._count and x == 0 else 0.0
        judged = self._learned >= self.warmup
        if self._drift is not None and n >= self.min_n and not (judged and abs(z) >= self.threshold):
            # Out-of-band windows are the per-window test's: an outage must neither pump
            # the sums nor become the long-run baseline.
            info_w = min(1.0, n / self._typical.mean) if self._typical.mean else 1.0
            self._drift.learn(*self._drift_inputs(a, n, x), info_w)
        typical = self._typical.mean
        amount = max(m, 0.0) if self._count else n
        info = min(1.0, amount / typical) if typical else 1.0  # vs a typical window
        scale = 1.0
        # Out-of-band values are kept out of the baseline from warmup on, even where the
        # profile is young: its band is wider there already, and learning an outage
        # while it lasts would let it fade from view.
        if self._learned >= self.warmup:
            direction = "up" if x > e else "down"
            # Hysteresis: inside a run, half the threshold keeps it going (see level.py).
            if abs(z) >= (self.threshold / 2 if direction == self._run_dir else self.threshold):
                self._extend_run(x, m, info, direction, loc[1:3])
                return
            if info >= 0.5:  # a thin window is in band because it says little
                self._reset_run()
            # Clip where the skewed distribution's 2-sigma-equivalent band ends: a
            # symmetric clip would bias a quiet hour's Poisson mean low.
            x = min(max(x, e + sd * skew_y(-self._clip, gamma)), e + sd * skew_y(self._clip, gamma))
            scale = self._clip_scale
        self._profile.learn(loc, x, 1.0 if self._count else info)
        if info > 0:
            if not self._count:
                self._level.update(x - m, info)
            elif m > 1e-6:  # a ratio to ~nothing says nothing (and could overflow)
                self._level.update(x / m, info)
            if self._excess.mean is None and s2 > 0 and (e >= 1.0 or not self._count):
                self._excess.update(s2 / g, _PRIOR_WINDOWS)  # prior: model error ≈ sampling error
            if g > 0:
                # Method of moments: E[r²] = sampling + model variance; weighted by the
                # window's information, as a thin window's r² is mostly sampling noise.
                r = x - e
                self._excess.update((r * r * scale - s2) / g, info * info)
            if self.kind in ("nps", "mean"):
                self._unit_var.update(n * se * se if se else n * (x - e) ** 2 * scale, info)
        self._typical.update(amount)
        self._learned += 1

    def _extend_run(self, x: float, m: float, w: float, direction: str, buckets: tuple) -> None:
        if direction != self._run_dir:
            self._reset_run()
            self._run_dir = direction
        w = max(w, 1e-6)
        self._run_len += 1
        self._run[0] += w
        self._run[1] += w * x
        self._run[2] += w * m
        if self._run_len < self.relearn_after:
            return
        total, xs, ms = self._run
        if self._count and xs == 0.0 and not self._relearn_silence:
            return  # an outage is not a new normal: keep alerting until traffic is back
        self._silence = 0.0  # a silence relearned is the new normal
        # Never learning outliers would never adapt either (river#948): a long enough
        # run in one direction is the new level, relative to the profile.
        if not self._count:
            self._level.mean = (xs - ms) / total
            if self._drift is not None:  # the drift test measures against the new normal too
                self._drift.rebase(self._level.mean + self._profile.mean(), total)
        elif ms / total >= _COUNT_RELEARN_MIN:
            self._level.mean = xs / ms
        else:  # traffic where the profile has ~none: it belongs to this hour
            for b in buckets:
                self._profile.values[b] = xs / total
                self._profile.weights[b] = max(self._profile.weights[b], 1.0)
        self._reset_run()

    def _reset_run(self) -> None:
        self._run_dir: str | None = None
        self._run_len = 0
        self._run = [0.0, 0.0, 0.0]  # total weight, weighted sums of x and of the profile

    # --- state ---------------------------------------------------------------

    def to_state(self) -> dict:
        """Everything needed to continue exactly where this detector is, as plain JSON."""
        return {
            "version": STATE_VERSION,
            "params": params_of(self),
            "learned": self._learned,
            "profile": self._profile.to_list(),
            "level": self._level.to_list(),
            "typical": self._typical.to_list(),
            "unit_var": self._unit_var.to_list(),
            "excess": self._excess.to_list(),
            "run": [self._run_dir, self._run_len, self._run],
            "drift": None if self._drift is None else self._drift.to_list(),
            "silence": self._silence,
        }

    @classmethod
    def from_state(cls, state: dict) -> SeasonalDetector:
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported detector state version {state.get('version')!r}")
        det = cls(**state["params"])
        det._learned = state["learned"]
        det._profile.load(state["profile"])
        det._level.load(state["level"])
        det._typical.load(state["typical"])
        det._unit_var.load(state["unit_var"])
        det._excess.load(state["excess"])
        det._run_dir, det._run_len, run = state["run"]
        det._run = list(run)
        det._silence = state.get("silence", 0.0)
        if det._drift is not None and state.get("drift") is not None:
            det._drift.load(state["drift"])
        return det
