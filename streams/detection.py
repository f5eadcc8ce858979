"""Which detector a series gets, and how a window's measurement is scored and learned.

The one place that knows the detector classes: the engine asks for a verdict and a
JSON state, nothing more.
"""

from __future__ import annotations

from typing import Any

from detectors import LevelDetector, SeasonalDetector, Verdict
from streams.metric_book import Measurement
from streams.metric_spec import MetricSpec
from streams.settings import DetectorSettings

Detector = SeasonalDetector | LevelDetector

# LevelDetector knows three noise models; the others map onto them.
_LEVEL_KIND = {"count": "count", "ratio": "ratio", "share": "ratio", "nps": "gauge", "mean": "gauge"}


def new_detector(spec: MetricSpec, tuning: DetectorSettings, window_seconds: float) -> Detector:
    if tuning.model == "level":
        return LevelDetector(
            kind=_LEVEL_KIND[spec.kind],
            threshold=tuning.threshold,
            warmup=tuning.warmup,
            fading_factor=tuning.fading_factor,
            bad_direction=spec.bad_direction,
        )
    return SeasonalDetector(
        kind=spec.kind,
        threshold=tuning.threshold,
        warmup=tuning.warmup,
        bad_direction=spec.bad_direction,
        window_seconds=window_seconds,
        profile=tuning.profile,
        timezone=tuning.timezone,
        min_n=tuning.min_n,
        relearn_after=tuning.relearn_after,
        accumulate=tuning.accumulate if spec.accumulate is None else spec.accumulate,
    )


def restore_detector(state: dict[str, Any], tuning: DetectorSettings) -> Detector:
    if tuning.model == "level":
        return LevelDetector.from_state(state)
    return SeasonalDetector.from_state(state)


def score_and_learn(
    detector: Detector, measurement: Measurement, window_start: float, *, learn: bool = True
) -> Verdict:
    """Score the window against what was learned so far, then learn it (unless told not to)."""
    if isinstance(detector, LevelDetector):
        verdict = detector.score_one(measurement.value, measurement.n)
        if learn:
            detector.learn_one(measurement.value, measurement.n)
        return verdict
    verdict = detector.score_one(measurement.value, t=window_start, n=measurement.n, se=measurement.se)
    if learn:
        detector.learn_one(measurement.value, t=window_start, n=measurement.n, se=measurement.se)
    return verdict
