"""How a metric is declared in the config YAML (validated by pydantic)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator

NAME_PATTERN = r"^[a-z0-9_]{1,64}$"

MetricKind = Literal["count", "ratio", "nps", "mean", "share"]


class EventFilter(BaseModel):
    """Which events a metric takes: every listed field must match one of its values."""

    model_config = {"extra": "forbid"}

    type: list[str] | None = None
    touchpoint: list[str] | None = None
    segment: list[str] | None = None
    survey: list[str] | None = None


class Target(BaseModel):
    """An objective the metric must meet (e.g. NPS >= 30): a breach is its own alert kind."""

    model_config = {"extra": "forbid"}

    min: float | None = None
    max: float | None = None
    # The objective is judged on this many windows together: one quiet minute of
    # survey answers says nothing about an NPS objective.
    over_windows: int = Field(15, ge=1)

    @model_validator(mode="after")
    def _one_bound(self) -> Target:
        if self.min is None and self.max is None:
            raise ValueError("a target needs `min`, `max` or both")
        return self


class AlertTuning(BaseModel):
    """Per-metric overrides of the `alerts:` defaults."""

    model_config = {"extra": "forbid"}

    open_after_windows: int | None = Field(None, ge=1)
    resolve_after_windows: int | None = Field(None, ge=1)
    cooldown_windows: int | None = Field(None, ge=0)


class MetricSpec(BaseModel):
    """One metric, computed per window for every channel it applies to.

    Kinds: ``count`` of events matching ``where``; ``ratio`` of two counts
    (``numerator`` / ``denominator``); ``nps`` from survey scores 0-10 (share of
    9-10 minus share of 0-6, in points); ``mean`` of ``field`` (score or value);
    ``share`` of scored events whose score is in ``scores``.
    """

    model_config = {"extra": "forbid"}

    name: str = Field(pattern=NAME_PATTERN)
    kind: MetricKind
    description: str = ""
    where: EventFilter | None = None
    numerator: EventFilter | None = None
    denominator: EventFilter | None = None
    field: Literal["score", "value"] | None = None
    scores: list[float] | None = None
    channels: list[str] | None = None
    by_touchpoint: bool = False
    # Which way is bad; a deviation the other way is not alerted.
    bad_direction: Literal["up", "down", "both"] = "both"
    unit: Literal["count", "ratio", "points", "seconds", "score", "currency"] | None = None
    target: Target | None = None
    alerting: AlertTuning | None = None
    # Per-metric override of `detector.accumulate`. Its false-alarm rate is per judged
    # window; a metric whose windows are pooled to `min_n` answers is judged far fewer
    # times a day, so the same false alarms per day allow a lower threshold.
    accumulate: float | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _fields_fit_kind(self) -> MetricSpec:
        kind, name = self.kind, self.name
        if kind != "ratio" and (self.numerator or self.denominator):
            raise ValueError(f"{kind} metric {name!r} takes no numerator/denominator")
        if kind == "count" and self.where is None:
            raise ValueError(f"count metric {name!r} needs `where`")
        if kind == "ratio" and (self.where or self.numerator is None or self.denominator is None):
            raise ValueError(f"ratio metric {name!r} takes `numerator` and `denominator`")
        if (kind == "mean") != (self.field is not None):
            raise ValueError(f"`field` belongs to mean metrics (metric {name!r})")
        if (kind == "share") != (self.scores is not None):
            raise ValueError(f"`scores` belongs to share metrics (metric {name!r})")
        return self

    def applies_to(self, channel: str) -> bool:
        return self.channels is None or channel in self.channels
