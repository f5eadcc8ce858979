"""Which detector a series gets, and how a window's measurement is scored and learned.

The one place that knows the detector classes: the engine asks for a verdict and a
JSON state, nothing more.
"""

from __future__ import annotations

from typing import Any

from detectors import LevelDetector, Verdict
from streams.metric_book import Measurement
from streams.metric_spec import MetricSpec
from streams.settings import DetectorSettings

# LevelDetector knows three noise models; the others map onto them.
_LEVEL_KIND = {"count": "count", "ratio": "ratio", "share": "ratio", "nps": "gauge", "mean": "gauge"}


def new_detector(spec: MetricSpec, tuning: DetectorSettings, window_seconds: float) -> LevelDetector:
    return LevelDetector(
        kind=_LEVEL_KIND[spec.kind],
        threshold=tuning.threshold,
        warmup=tuning.warmup,
        fading_factor=tuning.fading_factor,
        bad_direction=spec.bad_direction,
    )


def restore_detector(state: dict[str, Any]) -> LevelDetector:
    return LevelDetector.from_state(state)


def score_and_learn(
    detector: LevelDetector, measurement: Measurement, window_start: float, *, learn: bool = True
) -> Verdict:
    """Score the window against what was learned so far, then learn it (unless told not to)."""
    verdict = detector.score_one(measurement.value, measurement.n)
    if learn:
        detector.learn_one(measurement.value, measurement.n)
    return verdict
