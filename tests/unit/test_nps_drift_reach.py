"""The yardstick of benchmarks/nps_drift_reach.py: its ramp GLR finds a planted ramp, not noise."""

import importlib.util
from pathlib import Path

import numpy as np

_spec = importlib.util.spec_from_file_location(
    "nps_drift_reach", Path(__file__).resolve().parents[2] / "benchmarks" / "nps_drift_reach.py")
reach = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(reach)


def _answers(days, drop_per_hour=0.0, start_day=4.0, seed=3):
    """Ten answers a minute around a true mean of 0 with an sd of 80 points per answer."""
    rng = np.random.default_rng(seed)
    t = np.arange(days * 1440) * 60.0 + 30
    n = np.full(t.size, 10.0)
    ramp = drop_per_hour * np.clip(t / 3600 - start_day * 24, 0, None)
    x = rng.normal(-ramp * n, 80.0 * np.sqrt(n))  # sum of the answers' points per minute
    return t, n, x


def test_known_start_matches_the_closed_form_on_an_exact_ramp():
    t, n, _ = _answers(6)
    ramp = 2.0 * np.clip(t / 3600 - 96, 0, None)
    x = -ramp * n  # no noise: the statistic is the whole information, h²·n / (2·sd²)
    end = 96 * 3600 + 10 * 3600
    m = (t >= 96 * 3600) & (t < end)
    info = (n[m] * ramp[m] ** 2).sum()
    # The baseline (the answers before the start) is known only to its own error.
    heights = (n[m] * ramp[m]).sum()
    baseline_var = heights ** 2 / n[t < 96 * 3600].sum()
    expected = info ** 2 / (2 * 80.0 ** 2 * (info + baseline_var))
    got = reach.ramp_glr(t, n, x, [end], 80.0, starts=[96 * 3600], min_base=1)[0]
    assert abs(got - expected) < 1e-6 * expected


def test_a_ramp_is_found_and_noise_is_not():
    t, n, x = _answers(7, drop_per_hour=1.0)
    ends = np.arange(5 * 86400, 7 * 86400, 3600.0)
    assert reach.ramp_glr(t, n, x, ends, 80.0).max() > 20
    t, n, x = _answers(7)
    assert reach.ramp_glr(t, n, x, ends, 80.0).max() < 8
