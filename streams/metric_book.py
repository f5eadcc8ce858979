"""Metric definitions from the config, compiled for the per-event hot path.

A series is one metric of one channel, optionally narrowed to one touchpoint. Its
key inside a channel is ``metric`` or ``metric@touchpoint``; each window keeps two
counters per series, ``[numerator, denominator]`` (a count uses the first only).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from streams.settings import EventFilter, MetricSpec

_FILTER_FIELDS = ("type", "touchpoint", "segment", "survey")


class FilterableEvent(Protocol):
    channel: str
    type: str
    touchpoint: str | None
    segment: str | None
    survey: str | None


def _compile(where: EventFilter | None) -> tuple[tuple[str, frozenset[str]], ...]:
    if where is None:
        return ()
    return tuple(
        (name, frozenset(values))
        for name in _FILTER_FIELDS
        if (values := getattr(where, name)) is not None
    )


def _matches(rules: tuple[tuple[str, frozenset[str]], ...], event: FilterableEvent) -> bool:
    return all(getattr(event, name) in allowed for name, allowed in rules)


@dataclass(frozen=True, slots=True)
class _Compiled:
    spec: MetricSpec
    numerator: tuple[tuple[str, frozenset[str]], ...]
    denominator: tuple[tuple[str, frozenset[str]], ...] | None


def series_key(metric: str, touchpoint: str | None) -> str:
    return metric if touchpoint is None else f"{metric}@{touchpoint}"


def split_series_key(key: str) -> tuple[str, str | None]:
    metric, _, touchpoint = key.partition("@")
    return metric, touchpoint or None


class MetricBook:
    """Which counters an event bumps, and what a window's counters are worth.

    >>> from streams.settings import MetricSpec
    >>> book = MetricBook([MetricSpec(name="conversion_rate", kind="ratio",
    ...     numerator={"type": ["conversion"]}, denominator={"type": ["visit"]})])
    >>> counts = {}
    >>> class E:  # any object with the filtered fields
    ...     channel, touchpoint, segment, survey = "webshop", None, None, None
    ...     def __init__(self, type): self.type = type
    >>> for kind in ["visit", "visit", "visit", "visit", "conversion"]:
    ...     book.accumulate(counts, E(kind))
    >>> counts
    {'conversion_rate': [1, 4]}
    >>> book.value("conversion_rate", counts["conversion_rate"])
    (0.25, 4)
    """

    def __init__(self, specs: Sequence[MetricSpec]) -> None:
        self._by_name = {spec.name: spec for spec in specs}
        self._compiled = [
            _Compiled(
                spec,
                _compile(spec.where if spec.kind == "count" else spec.numerator),
                None if spec.kind == "count" else _compile(spec.denominator),
            )
            for spec in specs
        ]
        self._per_channel: dict[str, list[_Compiled]] = {}

    @property
    def specs(self) -> Mapping[str, MetricSpec]:
        return self._by_name

    def _for_channel(self, channel: str) -> list[_Compiled]:
        found = self._per_channel.get(channel)
        if found is None:
            # A cache of a pure function of the config, bounded by the channel cap.
            found = [c for c in self._compiled if c.spec.applies_to(channel)]
            self._per_channel[channel] = found
        return found

    def base_series(self, channel: str) -> list[str]:
        """Channel-level series every window of ``channel`` reports, even when empty."""
        return [c.spec.name for c in self._for_channel(channel)]

    def accumulate(self, counts: dict[str, list[int]], event: FilterableEvent) -> None:
        """Add ``event`` to the window counters ``counts`` (mutated in place)."""
        for compiled in self._for_channel(event.channel):
            in_numerator = _matches(compiled.numerator, event)
            in_denominator = compiled.denominator is not None and _matches(
                compiled.denominator, event
            )
            if not (in_numerator or in_denominator):
                continue
            keys = [compiled.spec.name]
            if compiled.spec.by_touchpoint and event.touchpoint is not None:
                keys.append(series_key(compiled.spec.name, event.touchpoint))
            for key in keys:
                pair = counts.get(key)
                if pair is None:
                    pair = counts[key] = [0, 0]
                if in_numerator:
                    pair[0] += 1
                if in_denominator:
                    pair[1] += 1

    def value(self, key: str, pair: Sequence[int]) -> tuple[float | None, int | None]:
        """The series value and its sample size; ``None`` where a ratio has no denominator."""
        spec = self._by_name[split_series_key(key)[0]]
        if spec.kind == "count":
            return float(pair[0]), None
        if pair[1] == 0:
            return None, 0
        return pair[0] / pair[1], pair[1]
