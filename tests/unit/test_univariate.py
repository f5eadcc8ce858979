"""UnivariateDetector: scores, no look-ahead, quiet periods, JSON state."""

from __future__ import annotations

import math
import random

import orjson
import pytest

from detectors.univariate import UnivariateDetector, _value_surprise

# Small windows keep the state round trips fast and make the histories wrap around.
SMALL = dict(value_windows=(30, 60), shapes=((4, 2), (16, 4)), memory=50, calibration_window=40, warmup=10)


def feed(det, values):
    scores = []
    for x in values:
        scores.append(det.score_one(x))
        det.learn_one(x)
    return scores


def daily(n, period=48, noise=0.05, seed=0, skip=()):
    """A square-ish daily cycle; days listed in ``skip`` stay low (a missing 'jump')."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        day, phase = divmod(i, period)
        high = phase >= period // 2 and day not in skip
        out.append((10.0 if high else 2.0) + rng.gauss(0, noise))
    return out


def test_scores_are_in_unit_interval_for_awkward_series():
    rng = random.Random(1)
    series = {
        "flat": [3.0] * 300,
        "walk": [sum(rng.gauss(0, 1) for _ in range(3)) * i for i in range(300)],
        "huge": [1e12 * rng.random() for _ in range(300)],
        "negative": [-50 - rng.expovariate(0.1) for _ in range(300)],
    }
    for values in series.values():
        scores = feed(UnivariateDetector(**SMALL), values + [1e15, -1e15, 0.0])
        assert all(0.0 <= s <= 1.0 for s in scores)


def test_step_on_a_flat_series_alerts():
    scores = feed(UnivariateDetector(), [5.0] * 200 + [5.5])
    assert max(scores[:200]) < 0.1  # ln 2 at most: a distance at its median is "half the time"
    assert scores[-1] > 0.5


def test_clean_cycle_stays_quiet_and_a_missing_high_phase_alerts():
    # Only the long shape can see this: every single value of the missing day is a
    # perfectly normal "low" value.
    det = UnivariateDetector(shapes=((16, 2), (48, 8)), memory=2000)
    values = daily(48 * 40, skip={30})
    scores = feed(det, values)
    assert max(scores[48 * 8 : 48 * 30]) < 0.5
    assert max(scores[48 * 30 : 48 * 31 + 8]) > 0.5


def test_score_one_does_not_learn():
    det, twin = UnivariateDetector(**SMALL), UnivariateDetector(**SMALL)
    values = daily(200, period=16, noise=0.3)
    for x in values:
        before = det.score_one(x)
        det.score_one(x + 100.0)  # a look at another value must not change anything
        assert det.score_one(x) == before == twin.score_one(x)
        det.learn_one(x)
        twin.learn_one(x)


def test_alert_opens_a_quiet_period():
    det = UnivariateDetector(refractory=5, quiet_factor=0.25)
    feed(det, [5.0 + 0.01 * (i % 3) for i in range(300)])
    first = det.score_one(50.0)
    assert first > 0.5
    det.learn_one(50.0)
    quiet = feed(det, [60.0] * 5)  # as surprising, but inside the quiet period
    assert max(quiet) < 0.25  # damped by quiet_factor
    assert det.score_one(-500.0) > 0.5  # the period is over


def test_value_surprise_body_is_empirical_rank():
    srt = sorted(float(i) for i in range(100))
    # 70 is above the median; 29 of 100 values are >= 71, 30 are >= 70.
    assert _value_surprise(srt, 70.0) == pytest.approx(-math.log(30 / 100))
    assert _value_surprise(srt, 20.0) == pytest.approx(-math.log(21 / 100))
    # Beyond the top 10 %: -ln(10/100) plus the distance past the 90th value in units
    # of the mean exceedance of the top 10 (90..99 over 89: mean 5.5).
    hi = srt[89]
    assert _value_surprise(srt, 100.0) == pytest.approx(-math.log(0.1) + (100.0 - hi) / 5.5)


@pytest.mark.parametrize("stage", [0, 5, 12, 45, 130, 400])
def test_state_round_trip_continues_identically(stage):
    values = daily(stage + 150, period=16, noise=0.5, seed=stage)
    values[stage // 2 : stage // 2 + 1] = [40.0]  # a spike, so some stages sit in a quiet period
    det = UnivariateDetector(**SMALL)
    feed(det, values[:stage])
    state = det.to_state()
    blob = orjson.dumps(state)  # plain JSON: orjson refuses numpy values and tuples stay lists
    clone = UnivariateDetector.from_state(orjson.loads(blob))
    assert clone.to_state() == orjson.loads(blob)
    assert feed(clone, values[stage:]) == feed(det, values[stage:])


def test_state_size_with_defaults_is_bounded():
    det = UnivariateDetector()
    feed(det, daily(6000, period=288, noise=0.5))
    size = len(orjson.dumps(det.to_state()))
    # raw history (5512 values) + 2 distance histories (5000 each), ~20 bytes per float.
    assert size < 400_000


def test_bad_inputs_and_parameters_raise():
    det = UnivariateDetector()
    for bad in (float("nan"), float("inf"), None):
        with pytest.raises(ValueError):
            det.score_one(bad)
        with pytest.raises(ValueError):
            det.learn_one(bad)
    with pytest.raises(ValueError):
        UnivariateDetector(shapes=((10, 3),))
    with pytest.raises(ValueError):
        UnivariateDetector(quiet_factor=1.0)
    with pytest.raises(ValueError):
        UnivariateDetector(value_windows=(0,))
    with pytest.raises(ValueError):
        UnivariateDetector(value_windows=())
    with pytest.raises(ValueError):
        UnivariateDetector.from_state({"version": 99})


def test_clone_is_fresh_with_same_parameters():
    det = UnivariateDetector(**SMALL)
    feed(det, daily(100, period=16))
    fresh = det.clone()
    assert fresh._get_params() == det._get_params()
    assert fresh.to_state()["raw"] == []


def test_no_look_ahead_scores_of_a_prefix_do_not_depend_on_the_future():
    values = daily(300, period=16, noise=0.3, seed=3)
    other_future = values[:200] + [v * 7 for v in values[200:]]
    assert feed(UnivariateDetector(**SMALL), values)[:200] == feed(UnivariateDetector(**SMALL), other_future)[:200]
