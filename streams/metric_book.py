"""Metric definitions from the config, compiled for the per-event hot path.

A series is one metric of one channel, optionally narrowed to one touchpoint. Its
key inside a channel is ``metric`` or ``metric@touchpoint``. Each window keeps a
short list of counters per series, by kind:

- count: ``[n]``
- ratio, share: ``[k, n]``
- nps: ``[promoters, detractors, n]``
- mean: ``[sum, sum of squares, n]``

Counters only ever add, so a window's state stays a few numbers per series.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from streams.metric_spec import EventFilter, MetricSpec

_FILTER_FIELDS = ("type", "touchpoint", "segment", "survey")
_WIDTH = {"count": 1, "ratio": 2, "share": 2, "nps": 3, "mean": 3}


class FilterableEvent(Protocol):
    channel: str
    type: str
    touchpoint: str | None
    segment: str | None
    survey: str | None
    score: float | None
    value: float | None


class Measurement(NamedTuple):
    """A series' value for one window: the value (None: no data), its sample size,
    and its own sampling standard error where the window's data tell it."""

    value: float | None
    n: int | None
    se: float | None


Rules = tuple[tuple[str, frozenset[str]], ...]


def _compile(where: EventFilter | None) -> Rules:
    if where is None:
        return ()
    return tuple(
        (name, frozenset(values)) for name in _FILTER_FIELDS if (values := getattr(where, name)) is not None
    )


def _matches(rules: Rules, event: FilterableEvent) -> bool:
    return all(getattr(event, name) in allowed for name, allowed in rules)


def series_key(metric: str, touchpoint: str | None) -> str:
    return metric if touchpoint is None else f"{metric}@{touchpoint}"


def split_series_key(key: str) -> tuple[str, str | None]:
    metric, _, touchpoint = key.partition("@")
    return metric, touchpoint or None


@dataclass(frozen=True, slots=True)
class _Compiled:
    spec: MetricSpec
    where: Rules
    denominator: Rules | None
    scores: frozenset[float]


def _plan_increments(compiled: _Compiled, event: FilterableEvent) -> tuple[float, ...] | str | None:
    """What the filters say about an event: fixed increments, a kind whose increments
    depend on the event's score or value, or None when the metric does not take it.
    Depends only on the filtered fields, so the answer can be cached per combination."""
    kind = compiled.spec.kind
    if kind == "ratio":
        k = _matches(compiled.where, event)
        n = compiled.denominator is not None and _matches(compiled.denominator, event)
        return (int(k), int(n)) if k or n else None
    if not _matches(compiled.where, event):
        return None
    return (1,) if kind == "count" else kind


def _valued_increments(compiled: _Compiled, kind: str, event: FilterableEvent) -> tuple[float, ...] | None:
    if kind == "mean":
        x = getattr(event, compiled.spec.field or "value")
        return None if x is None else (x, x * x, 1)
    score = event.score
    if score is None:
        return None
    if kind == "nps":
        return (int(score >= 9), int(score <= 6), 1)
    return (int(score in compiled.scores), 1)  # share


class _Entry(NamedTuple):
    """One counter list an event of a given filter signature bumps."""

    key: str  # the series: the metric's, or the metric's at the event's touchpoint
    first: float | None  # fixed increments (a count's, a ratio's k); None: they depend
    second: float | None  # on the event's score or value, by ``kind``
    compiled: _Compiled
    kind: str | None


# Plans are cached per (channel, type, touchpoint, segment, survey); this bounds the
# cache when names are many (the channel and touchpoint caps bound them further).
_MAX_PLANS = 50_000


class MetricBook:
    """Which counters an event bumps, and what a window's counters are worth.

    >>> from streams.metric_spec import MetricSpec
    >>> book = MetricBook([MetricSpec(name="conversion_rate", kind="ratio",
    ...     numerator={"type": ["conversion"]}, denominator={"type": ["visit"]})])
    >>> counts = {}
    >>> class E:  # any object with the filtered fields
    ...     channel, touchpoint, segment, survey, score, value = "webshop", None, None, None, None, None
    ...     def __init__(self, type): self.type = type
    >>> for kind in ["visit", "visit", "visit", "visit", "conversion"]:
    ...     book.accumulate(counts, E(kind))
    >>> counts
    {'conversion_rate': [1, 4]}
    >>> book.measure("conversion_rate", counts["conversion_rate"])
    Measurement(value=0.25, n=4, se=None)
    """

    def __init__(self, specs: Sequence[MetricSpec]) -> None:
        self._by_name = {spec.name: spec for spec in specs}
        self._compiled = [
            _Compiled(
                spec,
                _compile(spec.numerator if spec.kind == "ratio" else spec.where),
                _compile(spec.denominator) if spec.kind == "ratio" else None,
                frozenset(spec.scores or ()),
            )
            for spec in specs
        ]
        self._per_channel: dict[str, list[_Compiled]] = {}
        self._plans: dict[tuple, list[_Entry]] = {}

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

    def empty_counts(self, key: str) -> list[float]:
        return [0] * _WIDTH[self._by_name[split_series_key(key)[0]].kind]

    def _plan(self, event: FilterableEvent) -> list[_Entry]:
        entries = []
        for compiled in self._for_channel(event.channel):
            step = _plan_increments(compiled, event)
            if step is None:
                continue
            spec = compiled.spec
            keys = [spec.name]
            if spec.by_touchpoint and event.touchpoint is not None:
                keys.append(series_key(spec.name, event.touchpoint))
            for key in keys:
                if isinstance(step, tuple):
                    first, second = step if len(step) == 2 else (step[0], None)
                    entries.append(_Entry(key, first, second, compiled, None))
                else:
                    entries.append(_Entry(key, None, None, compiled, step))
        return entries

    def plan_of(self, signature: tuple, event: FilterableEvent) -> tuple[list[_Entry], bool]:
        """The counters an event of this filter signature bumps, and whether all of
        its increments are fixed (independent of the event's score or value)."""
        found = self._plans.get(signature)
        if found is None:
            entries = self._plan(event)
            found = (entries, all(entry.first is not None for entry in entries))
            if len(self._plans) < _MAX_PLANS:
                self._plans[signature] = found
        return found

    def accumulate(self, counts: dict[str, list[float]], event: FilterableEvent) -> None:
        """Add ``event`` to the window counters ``counts`` (mutated in place)."""
        signature = (event.channel, event.type, event.touchpoint, event.segment, event.survey)
        bump(counts, self.plan_of(signature, event)[0], event)

    def tally(self, counts: dict[str, list[float]]) -> Tally:
        """A :class:`Tally` adding events to the window counters ``counts``."""
        return Tally(self, counts)

    def measure(self, key: str, counters: Sequence[float]) -> Measurement:
        """The series' value for a window with these counters."""
        kind = self._by_name[split_series_key(key)[0]].kind
        if kind == "count":
            return Measurement(float(counters[0]), None, None)
        n = int(counters[-1])
        if n == 0:
            return Measurement(None, 0, None)
        if kind in ("ratio", "share"):
            return Measurement(counters[0] / n, n, None)
        if kind == "nps":
            promoters, detractors = counters[0] / n, counters[1] / n
            variance = promoters + detractors - (promoters - detractors) ** 2
            return Measurement(100.0 * (promoters - detractors), n, 100.0 * math.sqrt(max(variance, 0.0) / n))
        mean = counters[0] / n
        if n < 2:
            return Measurement(mean, n, None)
        variance = max(counters[1] - n * mean * mean, 0.0) / (n - 1)
        return Measurement(mean, n, math.sqrt(variance / n))


def sampling_error(kind: str, measurement: Measurement) -> tuple[float | None, float]:
    """The value and its standard error from the data alone (no model of what to expect)."""
    value, n, se = measurement
    if value is None:
        return None, 0.0
    if se is not None:
        return value, se
    if kind == "count":
        return value, math.sqrt(max(value, 1.0))
    if kind in ("ratio", "share") and n:
        return value, math.sqrt(max(value * (1.0 - value), 0.0) / n)
    return value, 0.0


def bump(counts: dict[str, list[float]], plan: list[_Entry], event: FilterableEvent) -> None:
    """Add one event's increments, as ``plan`` lists them, to ``counts``."""
    # Runs for every event: one flat entry per counter list, bumped inline.
    for key, first, second, compiled, kind in plan:
        if first is None:
            increments = _valued_increments(compiled, kind, event)
            if increments is None:
                continue
            counters = counts.get(key)
            if counters is None:
                counts[key] = list(increments)
            else:
                for i, step in enumerate(increments):
                    counters[i] += step
            continue
        counters = counts.get(key)
        if counters is None:
            counts[key] = [first] if second is None else [first, second]
        else:
            counters[0] += first
            if second is not None:
                counters[1] += second


class Tally:
    """Adds a run of events to one window's counters, deferring the fixed increments.

    Most events bump counters by amounts their filtered fields alone decide (a
    count's 1, a ratio's 0/1 pair): those are counted per filter signature and added
    once, by :meth:`settle`. Events whose increments depend on their score or value
    are added at once. The counters end as if every event were added in turn: fixed
    increments are integers, so their order does not matter, and each counter is
    created at the first event that bumps it, as :meth:`MetricBook.accumulate` would.

    >>> from streams.metric_spec import MetricSpec
    >>> book = MetricBook([MetricSpec(name="visits", kind="count", where={"type": ["visit"]})])
    >>> class E:
    ...     channel, type, touchpoint, segment, survey, score, value = "web", "visit", None, None, None, None, None
    >>> counts = {}
    >>> tally = book.tally(counts)
    >>> [tally.add(E()) for _ in range(3)]  # True: the event created a counter
    [True, False, False]
    >>> counts
    {'visits': [0]}
    >>> tally.settle()
    >>> counts
    {'visits': [3]}
    """

    __slots__ = ("counts", "_book", "_deferred")

    def __init__(self, book: MetricBook, counts: dict[str, list[float]]) -> None:
        self.counts = counts
        self._book = book
        # Per fixed-increment signature: its plan and the events not yet added. The plan
        # is kept here because the book's cache of plans is bounded.
        self._deferred: dict[tuple, list] = {}

    def add(self, event: FilterableEvent) -> bool:
        """Count ``event``; True if that created a counter the window did not have."""
        signature = (event.channel, event.type, event.touchpoint, event.segment, event.survey)
        waiting = self._deferred.get(signature)
        if waiting is not None:
            waiting[1] += 1
            return False
        counts = self.counts
        before = len(counts)
        plan, fixed = self._book.plan_of(signature, event)
        if fixed:
            for key, _, second, _, _ in plan:
                if key not in counts:
                    counts[key] = [0] if second is None else [0, 0]
            self._deferred[signature] = [plan, 1]
        else:
            bump(counts, plan, event)
        return len(counts) != before

    def settle(self) -> None:
        """Add the deferred increments; the counters are then complete."""
        counts = self.counts
        for plan, times in self._deferred.values():
            for key, first, second, _, _ in plan:
                counters = counts[key]
                counters[0] += first * times
                if second is not None:
                    counters[1] += second * times
        self._deferred.clear()
