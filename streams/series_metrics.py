"""Per-series gauges (observed value, expected value, band, score), built at scrape time.

A worker can hold tens of thousands of series. Five ``prometheus_client.Gauge``
children per series cost a few kilobytes each (a child object, a lock, a value
object, a labels dict) and five label lookups per closed window. This collector
keeps one tuple per series and writes the metric families only when Prometheus
scrapes, so memory and the per-close cost stay small; the exposition is the same.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

LABELS = ("channel", "metric", "touchpoint")
# (name, help) in the order of the values stored per series.
GAUGES = (
    ("kohta_series_observed", "Value of the last closed window."),
    ("kohta_series_expected", "Detector's expected value."),
    ("kohta_series_lower", "Lower edge of the normal band."),
    ("kohta_series_upper", "Upper edge of the normal band."),
    ("kohta_series_anomaly_score", "Anomaly score, 0-100 (50 = threshold)."),
)

Values = tuple[float | None, float | None, float | None, float | None, float | None]


class SeriesGauges(Collector):
    """The latest values of every series, exported as the five ``kohta_series_*`` gauges.

    >>> from prometheus_client import CollectorRegistry
    >>> registry = CollectorRegistry()
    >>> gauges = SeriesGauges(registry)
    >>> gauges.set(("chat", "contact_volume", ""), observed=12.0, expected=20.0, lower=11.0, upper=29.0, score=31.5)
    >>> registry.get_sample_value("kohta_series_expected", {"channel": "chat", "metric": "contact_volume",
    ...                                                     "touchpoint": ""})
    20.0

    A value left out keeps its last one; a series never scored has no expected value.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self._values: dict[tuple[str, str, str], Values] = {}
        registry.register(self)

    def set(
        self,
        labels: tuple[str, str, str],
        *,
        observed: float | None = None,
        expected: float | None = None,
        lower: float | None = None,
        upper: float | None = None,
        score: float | None = None,
    ) -> None:
        new = (observed, expected, lower, upper, score)
        old = self._values.get(labels)
        if old is not None:
            new = tuple(o if n is None else n for n, o in zip(new, old, strict=True))  # type: ignore[assignment]
        self._values[labels] = new

    def __len__(self) -> int:
        return len(self._values)

    def collect(self) -> Iterator[Metric]:
        families = [GaugeMetricFamily(name, text, labels=LABELS) for name, text in GAUGES]
        for labels, values in self._values.items():
            for family, value in zip(families, values, strict=True):
                if value is not None:
                    family.add_metric(labels, value)
        yield from families

    def describe(self) -> Iterator[Metric]:
        # Lets the registry check names for clashes without building every sample.
        yield from (GaugeMetricFamily(name, text, labels=LABELS) for name, text in GAUGES)
