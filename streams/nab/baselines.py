"""The two reference detectors scored alongside kohta's own.

Both follow River's protocol (score the row, then learn it), so neither sees a
value before it has scored it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator

from river import anomaly, compose, preprocessing, stats, utils


def half_space_trees(values: Iterable[float], *, seed: int = 42) -> Iterator[float]:
    """River's HalfSpaceTrees, default parameters, behind a MinMaxScaler.

    The seed only makes runs repeatable; every other parameter is River's default.
    HST scores are already in [0, 1].
    """
    model = compose.Pipeline(preprocessing.MinMaxScaler(), anomaly.HalfSpaceTrees(seed=seed))
    for v in values:
        x = {"value": v}
        yield model.score_one(x)
        model.learn_one(x)


def windowed_gaussian(values: Iterable[float], *, window_size: int = 6400) -> Iterator[float]:
    """Two-sided Gaussian tail score against the trailing window's mean and std.

    ``1 - P(|Z| >= |z|) = erf(|z| / sqrt 2)``: 0 at the mean, -> 1 far out. NAB's
    own windowed Gaussian uses the same 6400-row window; its score is a monotone
    transform of this one, so both rank rows identically.
    """
    window = utils.Rolling(stats.Var, window_size=window_size, ddof=0)
    for v in values:
        var = window.get() if window.window else 0.0
        if len(window.window) < 2 or var <= 0.0:
            yield 0.0  # nothing to compare against yet (or a flat history)
        else:
            z = (v - window.obj.mean.get()) / math.sqrt(var)
            yield math.erf(abs(z) / math.sqrt(2.0))
        window.update(v)
