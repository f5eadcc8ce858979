"""Unit tests for the seasonal detector: one behaviour per test, seeded synthetic data."""

from __future__ import annotations

import math
import time

import numpy as np
import orjson
import pytest
from river import stats
from scipy import stats as sps

from detectors import SeasonalDetector, Verdict
from detectors._season import Profile, skew_z, zero_count_z
from tests.unit.helpers import json_safe

DAY, HOUR, MINUTE = 86400, 3600, 60
MONDAY = 4 * DAY  # 1970-01-05, 00:00 UTC

# --- synthetic CX traffic ----------------------------------------------------


def _smoothstep(u: np.ndarray) -> np.ndarray:
    u = np.clip(u, 0.0, 1.0)
    return u * u * (3 - 2 * u)


def rhythm(t: np.ndarray) -> np.ndarray:
    """Share of the peak rate at epoch seconds ``t``: night ~12 %, a late-morning and an
    evening bump; weekends are 30 % quieter and peak 3 h later, blending in over Friday
    evening and out over Sunday evening (people do not switch at midnight)."""
    hours = t / HOUR
    h = hours % 24
    how = (hours + 72) % 168  # hours since Monday 00:00
    weekend = np.where(how < 6, 1 - _smoothstep((how + 6) / 12),
                       np.where(how >= 162, 1 - _smoothstep((how - 162) / 12), _smoothstep((how - 114) / 12)))
    morning = np.exp(2.2 * (np.cos(2 * np.pi * (h - 13 - 3 * weekend) / 24) - 1))
    evening = np.exp(2.6 * (np.cos(2 * np.pi * (h - 20) / 24) - 1))
    return 0.1 + 0.9 * (0.75 * morning + 0.6 * evening) * (1 - 0.3 * weekend)


def windows(days: float, start: float = 0.0) -> np.ndarray:
    return np.arange(start, start + days * DAY, MINUTE, dtype=float)


def feed(det: SeasonalDetector, rows) -> list[Verdict]:
    """Score then learn each (t, x, n, se), as the engine does; returns the verdicts."""
    out = []
    for t, x, n, se in rows:
        out.append(det.score_one(x, t=t, n=n, se=se))
        det.learn_one(x, t=t, n=n, se=se)
    return out


def count_rows(rng, ts, peak):
    xs = rng.poisson(peak * rhythm(ts))
    return [(float(t), int(x), None, None) for t, x in zip(ts, xs)]


def ratio_rows(rng, ts, p, n_peak=400):
    ns = rng.poisson(n_peak * rhythm(ts))
    ks = rng.binomial(ns, p)
    return [(float(t), (k / n if n else None), int(n), None) for t, k, n in zip(ts, ks, ns)]


def nps_row(rng, t, n, promoters, detractors):
    p, d, _ = rng.multinomial(n, [promoters, detractors, 1 - promoters - detractors]) / n
    x, se = nps_of(p, d, n)
    return float(t), x, n, se


def nps_of(p, d, n):
    """NPS in points and the standard error the engine passes with it."""
    return 100 * (p - d), 100 * math.sqrt(max(p + d - (p - d) ** 2, 0.0) / n)


def copy(det: SeasonalDetector) -> SeasonalDetector:
    return SeasonalDetector.from_state(orjson.loads(orjson.dumps(det.to_state())))


@pytest.fixture(scope="module")
def month():
    """30 days of a seasonal count (~160/min at 13:00, nights ~25), scored then learned."""
    rng = np.random.default_rng(42)
    rows = count_rows(rng, windows(30), 200)
    det = SeasonalDetector(kind="count")
    verdicts = feed(det, rows)
    return det, rows, verdicts


def busy(day: int, hour: float) -> float:
    return MONDAY + day * DAY + hour * HOUR  # day 28 is a Monday, just after the fixture's month


# --- seasonality -------------------------------------------------------------


def test_daily_and_weekly_rhythm_is_not_anomalous(month):
    det, rows, verdicts = month
    false = sum(v.is_anomaly for v in verdicts)
    assert false / 30 < 0.5  # measured 1 in 30 days (1-5 over 8 seeds); 4 sigma alone is ~2.7
    # the first day is learned from scratch (fallback to a running level, wide band)
    assert sum(v.is_anomaly for v in verdicts[:1440]) <= 1


def test_rhythm_is_tracked_smoothly_across_hours_and_the_weekend(month):
    det = copy(month[0])
    ts = windows(7, start=30 * DAY)
    truth = 200 * rhythm(ts)
    expected = np.array([v.expected for v in feed(det, count_rows(np.random.default_rng(1), ts, 200))])
    error = np.abs(expected / truth - 1)
    assert np.median(error) < 0.02 and np.quantile(error, 0.99) < 0.06  # measured 1.0 %, 4.6 %
    # No step on the hour: the truth moves up to 0.5/min, hourly means differ by up to ~30.
    assert np.max(np.abs(np.diff(expected))) < 3


def test_a_drop_at_a_busy_hour_is_flagged_every_window(month):
    det = copy(month[0])
    start = busy(28, 11.0)  # Monday, 11:00
    flags = []
    for k in range(10):
        t = start + k * MINUTE
        v = det.score_one(0.2 * 200 * rhythm(np.array(t)), t=t)
        flags.append((v.is_anomaly, v.direction))
        det.learn_one(0.2 * 200 * rhythm(np.array(t)), t=t)
    assert flags == [(True, "down")] * 10


def test_weekend_level_is_not_compared_with_weekdays(month):
    det, _, _ = month
    saturday_noon, tuesday_noon = busy(26, 12), busy(29, 12)
    assert det.score_one(100, t=saturday_noon).expected < 0.8 * det.score_one(100, t=tuesday_noon).expected


# --- sample size -------------------------------------------------------------


@pytest.fixture(scope="module")
def conversion():
    """Two days of ~8 % conversion over up to ~400 visits a minute."""
    det = SeasonalDetector(kind="ratio", min_n=1, bad_direction="down")
    feed(det, ratio_rows(np.random.default_rng(1), windows(2), 0.08))
    return det


def test_one_missed_conversion_out_of_three_visits_is_not_an_anomaly(conversion):
    t = 2 * DAY + 12 * HOUR
    assert conversion.score_one(0.08, t=t, n=400).expected == pytest.approx(0.08, abs=0.01)
    v = conversion.score_one(0 / 3, t=t, n=3)
    assert not v.is_anomaly and v.severity is None and abs(v.z) < 1


def test_conversion_drop_from_8_to_1_percent_over_400_visits_is_an_anomaly(conversion):
    v = conversion.score_one(4 / 400, t=2 * DAY + 12 * HOUR, n=400)
    assert v.is_anomaly and v.direction == "down" and v.lower > 0.01


def test_nps_swing_needs_enough_answers():
    rng = np.random.default_rng(2)
    det = SeasonalDetector(kind="nps")
    feed(det, [nps_row(rng, t, int(rng.integers(20, 400)), 0.55, 0.15) for t in windows(2)])
    t = 2 * DAY + 12 * HOUR
    assert det.score_one(40.0, t=t, n=100, se=7.0).expected == pytest.approx(40, abs=4)
    x, se = nps_of(0.2, 0.4, 5)  # +40 -> -20 from 5 answers
    few = det.score_one(x, t=t, n=5, se=se)
    x, se = nps_of(0.3, 0.5, 400)  # the same from 400
    many = det.score_one(x, t=t, n=400, se=se)
    assert not few.is_anomaly and abs(few.z) < 2.5
    assert many.is_anomaly and many.direction == "down"


def test_windows_below_min_n_are_not_judged_but_learned_lightly(conversion):
    det = SeasonalDetector.from_state({**conversion.to_state(), "params": {**conversion._get_params(), "min_n": 5}})
    t = 2 * DAY + 12 * HOUR
    v = det.score_one(0.0, t=t, n=4)  # 0 of 4 converted
    assert v == Verdict(0.0, False, v.expected, v.lower, v.upper, None, None, 0.0)
    assert det.score_one(0.0, t=t, n=400).is_anomaly
    before = det.score_one(0.08, t=t, n=400).expected
    det.learn_one(1.0, t=t, n=4)  # 4 of 4
    assert abs(det.score_one(0.08, t=t + MINUTE, n=400).expected - before) < 0.002


@pytest.mark.parametrize("x, n", [(None, 400), (0.1, 0), (0.1, None)])
def test_no_data_is_neither_an_anomaly_nor_learned(conversion, x, n):
    det = copy(conversion)
    state = det.to_state()
    v = det.score_one(x, t=2 * DAY, n=n)
    assert not v.is_anomaly and v.score == 0.0 and v.expected is not None
    det.learn_one(x, t=2 * DAY, n=n)
    assert det.to_state() == state


# --- silence -------------------------------------------------------------------


def test_silence_where_traffic_is_expected_is_a_down_anomaly(month):
    det = month[0]
    busy_hour, quiet_hour = det.score_one(0, t=busy(29, 11)), det.score_one(0, t=busy(29, 4))
    assert busy_hour.expected > 100 and 15 < quiet_hour.expected < 30
    assert busy_hour.is_anomaly and busy_hour.direction == "down" and busy_hour.severity == "critical"
    assert quiet_hour.is_anomaly and quiet_hour.direction == "down"


@pytest.mark.parametrize("window_seconds", [5.0, 60.0])
def test_a_new_channel_that_goes_silent_is_flagged(window_seconds):
    # Still "young" (its first half hour): the band is wider, but not so wide that 0 passes.
    det = SeasonalDetector(kind="count", warmup=10, window_seconds=window_seconds)
    feed(det, [(MONDAY + k * window_seconds, 50, None, None) for k in range(20)])
    v = det.score_one(0, t=MONDAY + 20 * window_seconds)
    assert v.is_anomaly and v.direction == "down"


def test_zero_where_almost_nothing_is_expected_is_normal():
    det = SeasonalDetector(kind="count")
    feed(det, count_rows(np.random.default_rng(3), windows(14), 3.0))  # nights ~0.35/min
    night = 14 * DAY + 4 * HOUR
    v = det.score_one(0, t=night)
    assert v.expected < 0.5 and not v.is_anomaly and v.score < 20
    assert det.score_one(0, t=14 * DAY + 12 * HOUR).expected > 1.5
    assert not det.score_one(0, t=14 * DAY + 12 * HOUR).is_anomaly  # P(0 | ~2.5) is 8 %


def test_silence_adds_up_window_by_window():
    # A quiet hour with ~7 events a window: one zero happens (p = 1e-3), two in a row
    # do not (p = 1e-6), and the run stays anomalous until an event arrives.
    det = SeasonalDetector(kind="count")
    feed(det, count_rows(np.random.default_rng(8), windows(14), 70.0))
    night = 14 * DAY + 4 * HOUR
    assert 5 < det.score_one(0, t=night).expected < 10
    flags = [v.is_anomaly for v in feed(det, [(night + k * MINUTE, 0, None, None) for k in range(10)])]
    assert flags == [False] + [True] * 9
    assert not feed(det, [(night + 10 * MINUTE, 7, None, None), (night + 11 * MINUTE, 0, None, None)])[1].is_anomaly
    # Where ~0.35 are expected, twenty silent minutes are p = e^-7: not an outage.
    det = SeasonalDetector(kind="count")
    feed(det, count_rows(np.random.default_rng(3), windows(14), 3.0))
    assert not any(v.is_anomaly for v in feed(det, [(night + k * MINUTE, 0, None, None) for k in range(20)]))


def test_exact_zero_probability_sets_the_silence_minimum():
    assert zero_count_z(10.0, 0.0) == pytest.approx(sps.norm.ppf(math.exp(-10)))
    assert zero_count_z(10.0, 0.0) > -4 > zero_count_z(11.0, 0.0)  # threshold 4: ~10.4 expected
    assert zero_count_z(40.0, 0.1) == pytest.approx(sps.norm.ppf(sps.nbinom.pmf(0, 10, 0.2)))


def test_an_outage_keeps_alerting_unless_silence_may_be_relearned(month):
    for relearn_silence, expect_all in ((None, True), (True, False)):
        params = {**month[0]._get_params(), "relearn_silence": relearn_silence}
        det = SeasonalDetector.from_state({**month[0].to_state(), "params": params})
        flags = [v.is_anomaly for v in feed(det, [(busy(28, 10) + k * MINUTE, 0, None, None) for k in range(90)])]
        assert all(flags[:30])
        assert all(flags[30:]) if expect_all else not any(flags[31:])


# --- robustness and drift ----------------------------------------------------


def test_one_outlier_does_not_poison_the_baseline(month):
    det = copy(month[0])
    t = busy(28, 12)
    before = det.score_one(200, t=t + MINUTE)
    assert det.score_one(1000, t=t).is_anomaly
    det.learn_one(1000, t=t)
    after = det.score_one(200, t=t + MINUTE)
    assert after.expected == pytest.approx(before.expected, rel=0.002)
    assert after.upper == pytest.approx(before.upper, rel=0.002)
    normal = round(after.expected)
    assert not det.score_one(normal, t=t + MINUTE).is_anomaly


@pytest.mark.parametrize("factor", [0.5, 1.6])
def test_a_lasting_level_shift_is_relearned_within_relearn_after(month, factor):
    det = copy(month[0])
    rng = np.random.default_rng(4)
    ts = windows(1, start=busy(28, 11))
    rows = [(float(t), int(x), None, None) for t, x in zip(ts, rng.poisson(factor * 200 * rhythm(ts)))]
    flags = [v.is_anomaly for v in feed(det, rows)]
    assert sum(flags[:30]) >= 25  # a halving at ~120/min is ~5 sigma: a few windows land in band
    assert sum(flags[35:]) <= 2  # the run started within 5 windows; the rest of the day is normal
    later = busy(29, 12)
    assert det.score_one(0, t=later).expected == pytest.approx(factor * 200 * rhythm(np.array(later)), rel=0.1)


def test_a_ratio_shift_is_relearned_despite_thin_windows_in_between(conversion):
    det = copy(conversion)
    rng = np.random.default_rng(5)
    flags = []
    for i in range(80):
        t = 2 * DAY + 12 * HOUR + i * MINUTE
        visits = 3 if i % 7 == 3 else int(rng.integers(380, 420))
        flags.append(feed(det, [(t, rng.binomial(visits, 0.01) / visits, visits, None)])[0].is_anomaly)
    assert flags[0] and not any(flags[40:])
    assert det.score_one(0.01, t=2 * DAY + 14 * HOUR, n=400).expected == pytest.approx(0.01, abs=0.005)


# --- calibrated output -------------------------------------------------------


@pytest.mark.parametrize("kind, n, se", [("count", None, None), ("ratio", 400, None), ("nps", 200, 6.0)])
def test_score_severity_and_band_are_on_one_scale(kind, n, se, month, conversion):
    det = {"count": month[0], "ratio": conversion}.get(kind)
    t = busy(29, 12) if kind == "count" else 2 * DAY + 12 * HOUR
    if det is None:
        rng = np.random.default_rng(6)
        det = SeasonalDetector(kind="nps")
        feed(det, [nps_row(rng, t0, 200, 0.5, 0.2) for t0 in windows(1)])
        t = DAY + 12 * HOUR
    # The band is the per-window test's; the drift test may add evidence beyond it
    # (a window at the edge after others that leaned the same way), tested apart.
    det = copy(det)
    det._drift = None
    ref = det.score_one(det.score_one(0, t=t, n=n, se=se).expected, t=t, n=n, se=se)
    for edge, sign in ((ref.lower, -1), (ref.upper, 1)):  # the band ends where |z| = threshold
        v = det.score_one(edge, t=t, n=n, se=se)
        assert v.z == pytest.approx(sign * 4.0, abs=1e-6) and v.score == pytest.approx(50.0)
    lo, hi = ref.lower, ref.upper
    previous = -1.0
    floor, ceiling = (-100, 100) if kind == "nps" else (0, math.inf)
    for x in np.linspace(lo - 2 * (ref.expected - lo), hi + 2 * (hi - ref.expected), 61):
        if not floor <= x <= ceiling:
            continue
        v = det.score_one(float(x), t=t, n=n, se=se)
        dev = abs(v.z)
        assert v.score == pytest.approx(100 * dev / (dev + 4.0))
        assert v.severity == ("critical" if dev >= 8 else "warning" if dev >= 4 else None)
        assert v.direction == ("up" if x > v.expected else "down" if x < v.expected else None)
        assert v.is_anomaly == (dev >= 4 and det.bad_direction in ("both", v.direction))
        if x >= ref.expected:
            assert v.score >= previous  # monotone above the expected value
            previous = v.score


def test_bad_direction_is_respected(month):
    t = busy(29, 12)
    for bad, up, down in (("down", False, True), ("up", True, False), ("both", True, True)):
        det = SeasonalDetector.from_state({**month[0].to_state(), "params": {**month[0]._get_params(), "bad_direction": bad}})
        hi, lo = det.score_one(500, t=t), det.score_one(20, t=t)
        assert (hi.is_anomaly, lo.is_anomaly) == (up, down)
        assert hi.severity == lo.severity == "critical"


def test_nothing_is_an_anomaly_before_warmup():
    det = SeasonalDetector(kind="count", warmup=30)
    verdicts = feed(det, [(float(t), 100, None, None) for t in windows(29 / 1440)])
    v = det.score_one(0, t=29 * MINUTE)
    assert verdicts[0] == Verdict(0.0, False, None, None, None, None, None, 0.0)
    assert (v.is_anomaly, v.z, v.score) == (False, 0.0, 0.0) and v.expected == pytest.approx(100)
    det.learn_one(100, t=29 * MINUTE)
    assert det.score_one(0, t=30 * MINUTE).is_anomaly


# --- false alarms per kind on stationary noise -------------------------------


def stationary(kind: str, rng, days: int = 7):
    rows = []
    for t in windows(days):
        if kind == "count":
            rows.append((float(t), int(rng.poisson(30)), None, None))
            continue
        n = int(rng.poisson(60))
        if n == 0:
            rows.append((float(t), None, 0, None))
        elif kind in ("ratio", "share"):
            rows.append((float(t), rng.binomial(n, 0.08 if kind == "ratio" else 0.6) / n, n, None))
        elif kind == "nps":
            rows.append(nps_row(rng, t, n, 0.5, 0.2))
        else:  # mean handling time: skewed per event
            v = rng.gamma(2.0, 150.0, size=n)
            rows.append((float(t), float(v.mean()), n, float(v.std(ddof=1) / math.sqrt(n)) if n > 1 else None))
    return rows


@pytest.mark.parametrize("kind", ["count", "ratio", "share", "nps", "mean"])
def test_false_alarm_rate_on_stationary_noise_is_low(kind):
    det = SeasonalDetector(kind=kind)
    verdicts = feed(det, stationary(kind, np.random.default_rng(7)))
    rate = sum(v.is_anomaly for v in verdicts) / len(verdicts)
    assert rate < 1e-3  # measured 0.1-1e-4 over 4 weeks; a known-sigma normal gives 6e-5


# --- River equivalence of the re-implemented pieces --------------------------


def test_profile_bucket_is_river_mean_then_river_ewmean():
    rng = np.random.default_rng(8)
    profile = Profile("day", cap=50.0)
    loc = profile.locate(10.5)  # exactly at the centre of 10:00-11:00: all weight on one bucket
    b = loc[1]
    assert loc[-1] == 0.0
    mean = stats.Mean()
    xs = rng.normal(100, 10, 200)
    for x in xs[:50]:  # while the bucket's weight grows: a plain running mean
        profile.learn(loc, float(x), 1.0)
        mean.update(float(x))
        assert profile.values[b] == pytest.approx(mean.get(), rel=1e-12)
    ew = stats.EWMean(fading_factor=1 / 50)
    ew.update(profile.values[b])
    for x in xs[50:]:  # then River's exponentially weighted mean with weight 1/cap
        profile.learn(loc, float(x), 1.0)
        ew.update(float(x))
        assert profile.values[b] == pytest.approx(ew.get(), rel=1e-12)


def _exact_z(dist, k: int, mean: float) -> float:
    """Normal-equivalent z of P(X >= k) above the mean, of P(X <= k) below it."""
    return sps.norm.isf(dist.sf(k - 1)) if k > mean else sps.norm.ppf(dist.cdf(k))


def _check_tail(dist, mean: float, sd: float, gamma: float, support: range, accurate: bool) -> int:
    checked = 0
    for k in support:
        exact, ours = _exact_z(dist, k, mean), skew_z((k - mean) / sd, gamma)
        if 3 <= abs(exact) <= 5:  # where alerting decisions are made
            assert abs(ours) <= abs(exact) + 0.15  # never (much) more alarming than exact
            if accurate:
                assert ours == pytest.approx(exact, abs=0.15)
            checked += 1
    return checked


@pytest.mark.parametrize("mu", [0.3, 2.0, 10.0, 100.0, 2000.0])
def test_skew_corrected_z_matches_exact_poisson_tails(mu):
    support = range(0, int(mu + 12 * math.sqrt(mu) + 10))
    # Below a mean of ~5 it errs on the quiet side: Poisson(0.3) needs 6 events, not 5.
    assert _check_tail(sps.poisson(mu), mu, math.sqrt(mu), 1 / math.sqrt(mu), support, mu >= 5)


@pytest.mark.parametrize("n, p", [(50, 0.02), (400, 0.08), (100, 0.9), (20, 0.5), (1000, 0.01)])
def test_skew_corrected_z_matches_exact_binomial_tails(n, p):
    sd = math.sqrt(n * p * (1 - p))
    accurate = min(n * p, n * (1 - p)) >= 5
    assert _check_tail(sps.binom(n, p), n * p, sd, (1 - 2 * p) / sd, range(1, n), accurate)


# --- state -------------------------------------------------------------------




@pytest.mark.parametrize("kind", ["count", "ratio", "nps"])
def test_state_round_trips_exactly_through_json(kind):
    rng = np.random.default_rng(9)
    ts = windows(3)
    if kind == "count":
        rows = count_rows(rng, ts, 100)
    elif kind == "ratio":
        rows = ratio_rows(rng, ts, 0.08)
    else:
        rows = [nps_row(rng, t, int(rng.integers(5, 200)), 0.5, 0.2) for t in ts]
    rows[2000:2040] = [(t, 0.0 if kind != "nps" else -90.0, n, se) for t, _, n, se in rows[2000:2040]]
    open_runs = 0
    for cut in (0, 1, 10, 700, 2020, 2100, len(rows) - 200):  # empty, warmup, young, in a run, after
        det = SeasonalDetector(kind=kind, relearn_after=30)
        feed(det, rows[:cut])
        state = det.to_state()
        assert json_safe(state)
        open_runs += state["run"][1] > 0
        twin = copy(det)
        assert twin.to_state() == state
        for t, x, n, se in rows[cut:cut + 200]:
            assert twin.score_one(x, t=t, n=n, se=se) == det.score_one(x, t=t, n=n, se=se)
            det.learn_one(x, t=t, n=n, se=se)
            twin.learn_one(x, t=t, n=n, se=se)
        assert twin.to_state() == det.to_state()
    assert open_runs  # a half-counted shift survives the round trip too


@pytest.mark.parametrize("profile", [None, "week"])
def test_state_after_a_month_fits_in_8_kb(month, profile):
    det = month[0]
    if profile is not None:
        det = SeasonalDetector(kind="count", profile=profile)
        feed(det, month[1])
    size = len(orjson.dumps(det.to_state()))
    assert size <= 8192  # measured 1.7 KB (weekpart, the default for counts) and 4.7 KB (week)


def test_unknown_state_version_is_rejected():
    with pytest.raises(ValueError):
        SeasonalDetector.from_state({**SeasonalDetector().to_state(), "version": 99})


def test_clone_is_fresh_with_same_params(month):
    twin = month[0].clone()
    assert twin.kind == "count" and twin.n_learned == 0 and twin.score_one(5, t=0) == Verdict(
        0.0, False, None, None, None, None, None, 0.0)


# --- time zone ---------------------------------------------------------------


def test_profile_hours_follow_the_local_clock_through_dst():
    det = SeasonalDetector(timezone="Europe/Helsinki", window_seconds=60)
    winter, summer = 1_704_103_200.0, 1_719_824_400.0  # 2024-01-01 10:00 and 2024-07-01 09:00 UTC
    assert det._local_hours(winter) % 24 == pytest.approx(12.0 + 0.5 / 60)
    assert det._local_hours(summer) % 24 == pytest.approx(12.0 + 0.5 / 60)
    assert SeasonalDetector()._local_hours(winter) % 24 == pytest.approx(10.0 + 0.5 / 60)


# --- speed -------------------------------------------------------------------


def test_score_and_learn_take_microseconds(month):
    det = copy(month[0])
    rows = month[1][:5000]
    shifted = [(t + 30 * DAY, x, n, se) for t, x, n, se in rows]
    start = time.perf_counter()
    feed(det, shifted)
    per_window = (time.perf_counter() - start) / len(rows)
    assert per_window < 200e-6  # measured 10-16 µs per score_one + learn_one; loose for slow CI


# --- input validation --------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [{"kind": "gauge"}, {"bad_direction": "sideways"}, {"threshold": 0}, {"threshold": math.nan},
     {"warmup": -1}, {"relearn_after": 0}, {"profile": "month"}, {"window_seconds": 0},
     {"level_memory": 0}, {"min_n": -1}, {"timezone": "Mars/Olympus"}],
)
def test_invalid_parameters_raise(params):
    with pytest.raises(ValueError):
        SeasonalDetector(**params)


@pytest.mark.parametrize(
    "kind, x, n, se",
    [("count", math.nan, None, None), ("count", -1, None, None), ("ratio", math.inf, 10, None),
     ("ratio", -0.1, 10, None), ("nps", 120.0, 10, 5.0), ("nps", 10.0, -1, None),
     ("mean", 3.0, 10, -1.0), ("mean", 3.0, math.nan, None)],
)
def test_bad_inputs_raise(kind, x, n, se):
    det = SeasonalDetector(kind=kind)
    with pytest.raises(ValueError):
        det.score_one(x, t=0.0, n=n, se=se)
    with pytest.raises(ValueError):
        det.learn_one(x, t=0.0, n=n, se=se)


def test_non_finite_time_raises():
    with pytest.raises(ValueError):
        SeasonalDetector().score_one(1, t=math.nan)
