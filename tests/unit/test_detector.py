"""Unit tests for the level detector: one behaviour per test, deterministic data."""

from __future__ import annotations

import dataclasses
import math
import random

import orjson
import pytest
from river import stats

from detectors import LevelDetector, Verdict
from detectors._stats import EWMeanVar
from tests.unit.helpers import json_safe, poisson

# --- helpers -----------------------------------------------------------------




def counts(rng: random.Random, lam: float, n: int) -> list[int]:
    return [poisson(rng, lam) for _ in range(n)]


def binomial(rng: random.Random, n: int, p: float) -> int:
    return sum(rng.random() < p for _ in range(n))


def learned(det: LevelDetector, values, n=None) -> LevelDetector:
    for x in values:
        det.learn_one(x, n)
    return det


def conversion_detector(rng: random.Random, windows: int = 200) -> LevelDetector:
    """~8 % conversion over windows of 380–420 visits."""
    det = LevelDetector(kind="ratio", bad_direction="down")
    for _ in range(windows):
        visits = rng.randint(380, 420)
        det.learn_one(binomial(rng, visits, 0.08) / visits, visits)
    return det


def json_roundtrip(det: LevelDetector) -> LevelDetector:
    return LevelDetector.from_state(orjson.loads(orjson.dumps(det.to_state())))


# --- the estimator against River --------------------------------------------


def test_ew_estimator_matches_river_ewmean_and_ewvar():
    rng = random.Random(1)
    ours = EWMeanVar(0.05, warm_start=False)
    mean, var = stats.EWMean(fading_factor=0.05), stats.EWVar(fading_factor=0.05)
    for _ in range(500):
        x = rng.gauss(1000.0, 50.0)
        ours.update(x)
        mean.update(x)
        var.update(x)
        assert ours.mean == pytest.approx(mean.get(), rel=1e-12)
        # River's E[x²]−E[x]² loses ~7 digits to cancellation at this level.
        assert ours.var == pytest.approx(var.get(), rel=1e-6)


def test_run_estimator_matches_river_weighted_var():
    rng = random.Random(2)
    ours, theirs = EWMeanVar(0.0), stats.Var(ddof=0)
    for _ in range(200):
        x, w = rng.uniform(0, 1), rng.uniform(0.1, 1.0)
        ours.update(x, w)
        theirs.update(x, w)
    assert ours.mean == pytest.approx(theirs.mean.get(), rel=1e-12)
    assert ours.var == pytest.approx(theirs.get(), rel=1e-9)


# --- the verdict -------------------------------------------------------------


def test_verdict_is_frozen_and_slotted():
    v = Verdict(0.0, False, None, None, None, None, None, 0.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        v.score = 1.0  # type: ignore[misc]
    assert not hasattr(v, "__dict__")


def test_first_observation_has_no_baseline():
    v = LevelDetector(kind="count").score_one(5)
    assert v == Verdict(0.0, False, None, None, None, None, None, 0.0)


def test_no_anomaly_before_warmup():
    det = learned(LevelDetector(kind="count", warmup=10), [100] * 9)
    v = det.score_one(0)
    assert (v.is_anomaly, v.z, v.score, v.severity) == (False, 0.0, 0.0, None)
    assert v.expected == 100 and v.lower is not None
    det.learn_one(100)
    assert det.score_one(0).is_anomaly


def test_score_maps_threshold_to_50_and_severity_follows_z():
    rng = random.Random(3)
    det = learned(LevelDetector(kind="gauge"), [rng.gauss(10, 1) for _ in range(100)])
    at_edge = det.score_one(det.score_one(10).upper)
    assert at_edge.score == pytest.approx(50.0)
    assert at_edge.z == pytest.approx(4.0)
    previous = -1.0
    for x in [10 + k * 0.25 for k in range(60)]:
        v = det.score_one(x)
        dev = abs(v.z)
        assert 0 <= v.score < 100 and v.score >= previous  # monotone in |z|
        assert v.score == pytest.approx(100 * dev / (dev + 4.0))
        expected_severity = "critical" if dev >= 8 else "warning" if dev >= 4 else None
        assert v.severity == expected_severity
        assert v.is_anomaly == (dev >= 4)
        previous = v.score


# --- sample-size awareness ---------------------------------------------------


def test_one_lost_conversion_out_of_three_visits_is_not_an_anomaly():
    det = conversion_detector(random.Random(4))
    assert det.expected == pytest.approx(0.08, abs=0.01)
    v = det.score_one(0 / 3, 3)
    assert not v.is_anomaly and v.severity is None
    before = det.expected
    det.learn_one(0 / 3, 3)  # a thin window is learned with a thin weight
    assert abs(det.expected - before) < 0.001


def test_conversion_drop_from_8_to_1_percent_over_400_visits_is_an_anomaly():
    det = conversion_detector(random.Random(5))
    v = det.score_one(4 / 400, 400)
    assert v.is_anomaly and v.direction == "down"
    assert v.lower is not None and v.lower > 0.01


@pytest.mark.parametrize("n", [0, None])
def test_ratio_without_denominator_is_neither_scored_nor_learned(n):
    det = conversion_detector(random.Random(6))
    state = det.to_state()
    v = det.score_one(None, n)
    assert not v.is_anomaly and v.score == 0.0 and v.expected == det.expected
    det.learn_one(0.0, n)
    assert det.to_state() == state


def test_channel_going_silent_is_a_down_anomaly():
    det = learned(LevelDetector(kind="count"), counts(random.Random(7), 100, 50))
    v = det.score_one(0)
    assert v.is_anomaly and v.direction == "down" and v.severity == "critical"


def test_poisson_floor_keeps_small_counts_quiet():
    # Learned spread of a flat 2-per-window series is 0; the Poisson floor is not.
    det = learned(LevelDetector(kind="count"), [2] * 30)
    assert not det.score_one(6).is_anomaly


# --- robustness and drift ----------------------------------------------------


def test_a_spike_does_not_poison_the_baseline():
    rng = random.Random(8)
    det = learned(LevelDetector(kind="count"), counts(rng, 100, 60))
    before = det.score_one(100)
    assert det.score_one(1000).is_anomaly
    det.learn_one(1000)
    after = det.score_one(100)
    assert abs(after.expected - before.expected) < 1.0
    assert after.upper == pytest.approx(before.upper)  # the spread did not balloon
    assert not det.score_one(poisson(rng, 100)).is_anomaly


@pytest.mark.parametrize("relearn_after", [10, 30])
def test_a_permanent_level_shift_is_relearned_within_the_bound(relearn_after):
    rng = random.Random(9)
    det = learned(LevelDetector(kind="count", relearn_after=relearn_after), counts(rng, 100, 60))
    flags = []
    for x in counts(rng, 200, 100):
        flags.append(det.score_one(x).is_anomaly)
        det.learn_one(x)
    assert flags[0]
    assert not any(flags[relearn_after:])
    assert det.expected == pytest.approx(200, rel=0.05)


def test_a_ratio_shift_is_relearned_despite_thin_windows_in_between():
    rng = random.Random(15)
    det = conversion_detector(rng)
    flags = []
    for i in range(80):
        visits = 3 if i % 7 == 3 else rng.randint(380, 420)  # thin windows inside the run
        x = binomial(rng, visits, 0.01) / visits
        flags.append(det.score_one(x, visits).is_anomaly)
        det.learn_one(x, visits)
    assert flags[0] and not any(flags[40:])
    assert det.expected == pytest.approx(0.01, abs=0.005)


def test_a_shift_straddling_the_band_edge_is_not_absorbed_window_by_window():
    rng = random.Random(0)
    det = learned(LevelDetector(kind="gauge"), [rng.gauss(0, 1) for _ in range(200)])
    flags, expected = [], []
    for _ in range(60):
        x = rng.gauss(4.5, 1)  # about half the windows land inside the 4-sigma band
        flags.append(det.score_one(x).is_anomaly)
        det.learn_one(x)
        expected.append(det.expected)
    assert sum(flags[:30]) >= 20 and max(expected[:29]) < 0.5
    assert not any(flags[40:]) and det.expected == pytest.approx(4.5, abs=0.5)


def test_a_silent_channel_stops_alerting_after_relearn_after():
    det = learned(LevelDetector(kind="count", relearn_after=30), counts(random.Random(10), 100, 60))
    flags = []
    for _ in range(60):
        flags.append(det.score_one(0).is_anomaly)
        det.learn_one(0)
    assert all(flags[:30]) and not any(flags[30:])


def test_false_alarm_rate_on_stationary_noise_is_low():
    rng = random.Random(11)
    det = LevelDetector(kind="gauge")
    alarms = 0
    for _ in range(3000):
        x = rng.gauss(50.0, 5.0)
        alarms += det.score_one(x).is_anomaly
        det.learn_one(x)
    assert alarms <= 5


# --- direction ---------------------------------------------------------------


def test_deviation_in_the_harmless_direction_scores_but_is_not_an_anomaly():
    det = LevelDetector(kind="count", bad_direction="down")
    learned(det, counts(random.Random(12), 100, 50))
    up = det.score_one(300)
    assert up.direction == "up" and up.score > 50 and up.severity == "critical"
    assert not up.is_anomaly
    assert det.score_one(0).is_anomaly


def test_bad_direction_up_ignores_drops():
    det = LevelDetector(kind="count", bad_direction="up")
    learned(det, counts(random.Random(13), 100, 50))
    assert not det.score_one(0).is_anomaly
    assert det.score_one(300).is_anomaly


# --- state -------------------------------------------------------------------




@pytest.mark.parametrize("kind", ["count", "ratio", "gauge"])
def test_state_round_trips_exactly_through_json(kind):
    rng = random.Random(14)

    def value(i):
        if kind == "ratio":
            visits = 3 if i % 17 == 0 else rng.randint(300, 400)
            return binomial(rng, visits, 0.005 if 150 <= i < 190 else 0.08) / visits, visits
        level = 300 if i >= 150 else 100
        return float(1000 if i == 80 else poisson(rng, level)), None

    stream = [value(i) for i in range(260)]
    open_runs = 0
    for cut in (0, 5, 90, 160, 200):  # empty, warmup, after a spike, inside a run, after relearn
        det = LevelDetector(kind=kind, relearn_after=20)
        for x, n in stream[:cut]:
            det.learn_one(x, n)
        state = det.to_state()
        assert json_safe(state)
        open_runs += state["run"][1] > 0
        twin = json_roundtrip(det)
        assert twin.to_state() == state
        for x, n in stream[cut:]:
            assert twin.score_one(x, n) == det.score_one(x, n)
            det.learn_one(x, n)
            twin.learn_one(x, n)
        assert twin.to_state() == det.to_state()
    assert open_runs  # a half-counted shift survives the round trip too


@pytest.mark.parametrize("kind", ["count", "ratio", "gauge"])
def test_state_is_small(kind):
    det = LevelDetector(kind=kind)
    for i in range(500):
        det.learn_one(0.08 if kind == "ratio" else 100.0 + i % 7, 400)
    det.learn_one(0.5 if kind == "ratio" else 10_000.0, 400)  # leave a run open
    assert len(orjson.dumps(det.to_state())) < 2048


def test_unknown_state_version_is_rejected():
    state = LevelDetector().to_state()
    with pytest.raises(ValueError):
        LevelDetector.from_state({**state, "version": 99})


def test_clone_is_fresh_with_same_params():
    det = learned(LevelDetector(kind="count", threshold=3.0), [10, 11, 12])
    twin = det.clone()
    assert twin.threshold == 3.0 and twin.kind == "count" and twin.expected is None


# --- input validation --------------------------------------------------------


@pytest.mark.parametrize("x", [math.nan, math.inf, -math.inf, None])
@pytest.mark.parametrize("kind", ["count", "ratio", "gauge"])
def test_non_finite_values_raise(kind, x):
    det = LevelDetector(kind=kind)
    with pytest.raises(ValueError):
        det.score_one(x, 100)
    with pytest.raises(ValueError):
        det.learn_one(x, 100)


@pytest.mark.parametrize("n", [math.nan, math.inf, -1])
def test_bad_sample_sizes_raise(n):
    with pytest.raises(ValueError):
        LevelDetector(kind="ratio").learn_one(0.1, n)


def test_negative_counts_raise_but_negative_gauges_are_fine():
    with pytest.raises(ValueError):
        LevelDetector(kind="count").learn_one(-1)
    LevelDetector(kind="gauge").learn_one(-1)


@pytest.mark.parametrize(
    "params",
    [
        {"kind": "histogram"},
        {"bad_direction": "sideways"},
        {"threshold": 0},
        {"threshold": math.nan},
        {"fading_factor": 0},
        {"fading_factor": 1.5},
        {"warmup": -1},
        {"relearn_after": 0},
    ],
)
def test_invalid_parameters_raise(params):
    with pytest.raises(ValueError):
        LevelDetector(**params)
