"""The drift test: small or slow shifts of sampled series, against a slow baseline.

Each case is run with the drift test and without it (``accumulate=0``, the
per-window test alone), so the tests show what it adds, and on the same noise
without a shift, so they show what it costs.
"""

from __future__ import annotations

import math
import random

import numpy as np
import orjson
import pytest

from detectors import SeasonalDetector
from detectors.drift import DriftTest, _run_length, _threshold_for

MINUTE, HOUR, DAY = 60, 3600, 86400
SMILEY = ([4, 3, 2, 1], [0.45, 0.35, 0.13, 0.07])


def nps_window(rng, n: int, promoters: float, detractors: float) -> tuple[float, float]:
    k = rng.multinomial(n, [promoters, detractors, 1.0 - promoters - detractors])
    p, d = k[0] / n, k[1] / n
    return 100.0 * (p - d), 100.0 * math.sqrt(max(p + d - (p - d) ** 2, 1e-9) / n)


def nps_drift(seed: int, points_per_day: float, *, days_after: float = 1.0, accumulate: float = 11.0):
    """Hours from the drift's start to the first anomaly (None: none), and how many anomalies.

    Two clean days, then answers turn into detractors linearly in time: NPS is
    promoters minus detractors (50 % - 20 % here), so a share q costs 130·q points.
    20 answers per 3-minute window: one window's standard error is ~17 points.
    """
    rng = np.random.default_rng(seed)
    det = SeasonalDetector(kind="nps", bad_direction="down", accumulate=accumulate)
    start, first, count = 2 * DAY, None, 0
    for t in range(0, int((2 + days_after) * DAY), 3 * MINUTE):
        q = max(0.0, (t - start) / DAY) * points_per_day / 130.0
        x, se = nps_window(rng, 20, 0.5 * (1.0 - q), 0.2 * (1.0 - q) + q)
        v = det.score_one(x, t=t, n=20, se=se)
        det.learn_one(x, t=t, n=20, se=se)
        if v.is_anomaly:
            count += 1
            first = t if first is None else first
    return (None if first is None else (first - start) / HOUR), count


@pytest.mark.parametrize("seed", range(4))
def test_a_slow_nps_drift_is_detected_within_a_day(seed):
    # 15 points a day is under 1 standard error of a window after 24 hours.
    hours, _ = nps_drift(seed, 15.0)
    assert hours is not None and 0 < hours < 24
    hours, _ = nps_drift(seed, 15.0, accumulate=0)  # the per-window test alone
    assert hours is None


@pytest.mark.parametrize("seed", range(2))
def test_the_same_nps_noise_without_drift_gives_no_alert_for_a_week(seed):
    assert nps_drift(seed, 0.0, days_after=5.0) == (None, 0)


def smiley_day(seed: int, sad_from: int | None, *, accumulate: float = 11.0, days: int = 3):
    """Windows of 5 smiley answers (mean 3.2, sd 0.9) for ``days``; from window
    ``sad_from`` of the last day on, 45 % of the answers turn sad (1-2) for an hour.
    Returns the windows after the turn at which the series is anomalous."""
    rnd = random.Random(seed)
    det = SeasonalDetector(kind="mean", bad_direction="down", accumulate=accumulate)
    flagged, last_day = [], (days - 1) * 1440
    for i in range(days * 1440):
        scores = rnd.choices(*SMILEY, k=5)
        if sad_from is not None and last_day + sad_from <= i < last_day + sad_from + 60:
            scores = [rnd.choice((1, 1, 1, 2, 2)) if rnd.random() < 0.45 else s for s in scores]
        x = sum(scores) / 5
        se = math.sqrt(sum((s - x) ** 2 for s in scores) / 5 / 5)
        t = i * MINUTE
        if det.score_one(x, t=t, n=5, se=se).is_anomaly:
            flagged.append(i - last_day - (sad_from or 0))
        det.learn_one(x, t=t, n=5, se=se)
    return flagged


@pytest.mark.parametrize("seed", range(3))
def test_a_store_region_turning_sad_on_five_answers_a_window_is_found_in_minutes(seed):
    # A drop of 0.8 points is ~2 standard errors a window: no single window is odd.
    flagged = smiley_day(seed, 600)
    alone = smiley_day(seed, 600, accumulate=0)  # the per-window test alone
    assert [i for i in flagged if 0 <= i <= 15]
    assert len([i for i in flagged if 0 <= i < 60]) >= 30  # and holds
    # Alone, the per-window test catches a window of five sad answers now and then.
    assert len([i for i in alone if 0 <= i < 60]) <= 3
    # The alarm ends with the cause: nothing added an hour after the region recovered.
    assert not [i for i in set(flagged) - set(alone) if i >= 120]


@pytest.mark.parametrize("seed", range(3))
def test_the_same_smiley_noise_without_a_turn_gets_no_alert_from_the_drift_test(seed):
    # A mean of 5 answers on a 1-4 scale has a heavy lower tail: the per-window test
    # alone flags a window of 1.2 now and then (p ~ 2e-5), the drift test adds nothing.
    assert smiley_day(seed, None) == smiley_day(seed, None, accumulate=0)


def test_an_outage_does_not_become_the_long_run_baseline():
    # A conversion rate of 8 % collapses to 0.5 % for 90 minutes and comes back: the
    # per-window test relearns the collapse after 30 windows and the return after
    # another 30, and the drift test follows both, so nothing alerts after that.
    rng = np.random.default_rng(3)
    det = SeasonalDetector(kind="ratio", bad_direction="down")
    outage = range(2 * DAY + 10 * HOUR, 2 * DAY + 11 * HOUR + 30 * MINUTE)
    late = []
    for t in range(0, 4 * DAY, MINUTE):
        p = 0.005 if t in outage else 0.08
        x = rng.binomial(200, p) / 200
        if det.score_one(x, t=t, n=200).is_anomaly and t >= outage.stop + HOUR:
            late.append(t)
        det.learn_one(x, t=t, n=200)
    assert late == []


def test_a_lasting_shift_is_relearned_by_the_drift_test_too():
    test = DriftTest(relearn_after=100)
    rng = random.Random(4)
    for _ in range(2000):
        test.learn(rng.gauss(0.0, 1.0), 1.0, 1.0)
    alarmed = []
    for i in range(600):
        y = rng.gauss(1.0, 1.0)  # a standard error up, for good
        alarmed.append(test.evidence(y, 1.0, 1.0) != 0.0)
        test.learn(y, 1.0, 1.0)
    first = alarmed.index(True)
    assert first < 60
    assert not any(alarmed[first + 100 + 50:])  # relearned after 100 windows in alarm


def test_thin_windows_count_by_their_information():
    # The same deviation on a window with a quarter of the typical sample (variance 4x)
    # adds much less evidence than on a typical window.
    full, thin = DriftTest(), DriftTest()
    for test in (full, thin):
        for i in range(500):
            test.learn((-1) ** i * 0.1, 1.0, 1.0)
    for _ in range(6):
        full.learn(-2.0, 1.0, 1.0)
        thin.learn(-2.0, 4.0, 1.0)
    assert full.evidence(-2.0, 1.0, 1.0) <= -1.0
    assert thin.evidence(-2.0, 4.0, 1.0) == 0.0


def test_thresholds_share_one_false_alarm_rate():
    for delta in (0.25, 0.5, 1.0, 2.0):
        h = _threshold_for(_run_length(11.0, 1.0), delta)
        assert _run_length(h, delta) == pytest.approx(_run_length(11.0, 1.0), rel=1e-6)
    assert DriftTest(shifts=(1.0,))._h == [pytest.approx(11.0)]
    # On N(0, 1) noise of typical windows: no alarm in 20 000 windows (the rate is ~1e-5).
    rng = random.Random(7)
    test = DriftTest()
    alarms = 0
    for _ in range(20_000):
        y = rng.gauss(0.0, 1.0)
        alarms += test.evidence(y, 1.0, 1.0) != 0.0
        test.learn(y, 1.0, 1.0)
    assert alarms == 0


def test_state_round_trips_mid_evidence():
    test = DriftTest()
    rng = random.Random(5)
    for i in range(1500):
        test.learn(rng.gauss(0.0 if i < 1000 else -0.4, 1.0), 1.0, 1.0)
    assert test._held[0] > 0 or any(test._sums)
    again = DriftTest().load(orjson.loads(orjson.dumps(test.to_list())))
    for _ in range(300):
        y = rng.gauss(-0.4, 1.0)
        assert again.evidence(y, 1.0, 1.0) == test.evidence(y, 1.0, 1.0)
        test.learn(y, 1.0, 1.0)
        again.learn(y, 1.0, 1.0)
    assert again.to_list() == test.to_list()


def test_invalid_parameters_raise():
    for params in ({"shifts": ()}, {"shifts": (0.0,)}, {"threshold": 0.0}, {"memory": 0.5},
                   {"relearn_after": 0}):
        with pytest.raises(ValueError):
            DriftTest(**params)
    with pytest.raises(ValueError):
        SeasonalDetector(kind="nps", accumulate=-1.0)


def test_counts_have_no_drift_test():
    assert SeasonalDetector(kind="count")._drift is None
    assert SeasonalDetector(kind="share", accumulate=0)._drift is None
    assert SeasonalDetector(kind="share")._drift is not None
