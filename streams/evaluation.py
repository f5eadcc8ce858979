"""Scoring alerts against a scenario's incident labels: recall, false alerts, time to detect.

Pure functions over alert records (see :mod:`streams.alerting`) and the labels
that :func:`streams.simulation.write_scenario` writes. Only ``open`` records
count; a replay may re-send an alert, so records are counted once per
``alert_id``.

An incident is *detected* when an open alert on one of its (channel, metric)
pairs was raised (``detected_at``) between the incident's start and its end plus
``grace_seconds``. When a label names touchpoints, an alert on another
touchpoint does not match, while one on the channel as a whole does. An open
alert that matches no incident between its start minus the grace and its end
plus the grace is a *false alert*. Alerts raised shortly before an incident
count neither way: detectors cannot see the future, but a series that was
already drifting is not noise either.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

STANDARD_CHANNELS = ("web", "webshop", "mobile_app", "chat", "phone", "email", "store", "invoicing", "delivery")


def label_epoch(value: Any) -> float:
    """A time in labels.json (or an alert): epoch seconds, or RFC 3339 text."""
    if isinstance(value, (int, float)):
        return float(value)
    return datetime.fromisoformat(str(value).replace("z", "Z")).timestamp()


@dataclass(frozen=True)
class _Label:
    id: str
    kind: str
    start: float
    end: float
    pairs: frozenset[tuple[str, str]]
    touchpoints: frozenset[str] | None
    abrupt: bool

    @classmethod
    def parse(cls, raw: dict) -> _Label:
        pairs = frozenset((c, m) for c in raw["channels"] for m in raw["metrics"])
        tps = raw.get("touchpoints")
        return cls(str(raw["id"]), str(raw["kind"]), label_epoch(raw["start"]), label_epoch(raw["end"]), pairs,
                   frozenset(tps) if tps else None, bool(raw.get("abrupt", True)))

    def covers(self, alert: dict) -> bool:
        if (alert.get("channel"), alert.get("metric")) not in self.pairs:
            return False
        tp = alert.get("touchpoint")
        return self.touchpoints is None or tp is None or tp in self.touchpoints


@dataclass(frozen=True)
class IncidentResult:
    id: str
    kind: str
    start: float
    abrupt: bool
    detected: bool
    ttd_seconds: float | None
    alerts: int  # open alerts that count as detecting it


@dataclass
class EvaluationReport:
    incidents: list[IncidentResult]
    alerts: int
    recall: float | None
    recall_by_kind: dict[str, float]
    false_alerts: int
    false_alerts_by_channel: dict[str, int]
    channel_days: float
    false_alerts_per_channel_day: float | None
    ttd_median: float | None
    ttd_worst: float | None
    abrupt_ttd_median: float | None
    abrupt_ttd_worst: float | None
    grace_seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def render(self) -> str:
        detected = sum(r.detected for r in self.incidents)
        lines = [
            f"incidents       {len(self.incidents)}, detected {detected}, recall {_pct(self.recall)}",
            f"open alerts     {self.alerts}, false {self.false_alerts}"
            f" ({_num(self.false_alerts_per_channel_day)} per channel-day over {self.channel_days:g} channel-days)",
            f"time to detect  median {_dur(self.ttd_median)}, worst {_dur(self.ttd_worst)}"
            f"; abrupt incidents: median {_dur(self.abrupt_ttd_median)}, worst {_dur(self.abrupt_ttd_worst)}",
            "",
            _table(["kind", "incidents", "detected", "recall"],
                   [[kind, str(sum(r.kind == kind for r in self.incidents)),
                     str(sum(r.detected for r in self.incidents if r.kind == kind)), _pct(recall)]
                    for kind, recall in sorted(self.recall_by_kind.items())]),
            "",
            _table(["incident", "kind", "start", "detected", "ttd"],
                   [[r.id, r.kind, _when(r.start), "yes" if r.detected else "NO", _dur(r.ttd_seconds)]
                    for r in self.incidents]),
        ]
        if self.false_alerts_by_channel:
            lines += ["", _table(["channel", "false alerts"],
                                 [[c, str(n)] for c, n in sorted(self.false_alerts_by_channel.items())])]
        return "\n".join(lines)


def evaluate(alerts: Iterable[dict], labels: dict, *, grace_seconds: float = 3600.0,
             channels: Iterable[str] = STANDARD_CHANNELS) -> EvaluationReport:
    """Score ``alerts`` against ``labels`` (the parsed ``labels.json``).

    False alerts per channel-day divide by the scenario's days times the number
    of channels in ``channels``, the labels and the alerts together.
    """
    incidents = sorted((_Label.parse(raw) for raw in labels.get("incidents", ())), key=lambda i: i.start)
    opened: dict[Any, dict] = {}
    for alert in alerts:
        if alert.get("status") != "open":
            continue
        key = alert.get("alert_id") or id(alert)
        at = label_epoch(alert["detected_at_epoch"] if alert.get("detected_at_epoch") is not None
                          else alert["detected_at"])
        if key not in opened or at < opened[key]["_at"]:
            opened[key] = {**alert, "_at": at}

    hits: dict[str, list[float]] = {inc.id: [] for inc in incidents}
    false_by_channel: Counter[str] = Counter()
    for alert in opened.values():
        at, explained = alert["_at"], False
        for inc in incidents:
            if not inc.covers(alert):
                continue
            if inc.start <= at <= inc.end + grace_seconds:
                hits[inc.id].append(at)
            if inc.start - grace_seconds <= at <= inc.end + grace_seconds:
                explained = True
        if not explained:
            false_by_channel[str(alert.get("channel"))] += 1

    results = [IncidentResult(inc.id, inc.kind, inc.start, inc.abrupt, bool(hits[inc.id]),
                              min(hits[inc.id]) - inc.start if hits[inc.id] else None, len(hits[inc.id]))
               for inc in incidents]
    by_kind: dict[str, list[bool]] = {}
    for r in results:
        by_kind.setdefault(r.kind, []).append(r.detected)
    seen_channels = set(channels) | {str(a.get("channel")) for a in opened.values()}
    seen_channels |= {c for inc in incidents for c, _ in inc.pairs}
    channel_days = len(seen_channels) * _days(labels)
    false_total = sum(false_by_channel.values())
    ttds = [r.ttd_seconds for r in results if r.ttd_seconds is not None]
    abrupt_ttds = [r.ttd_seconds for r in results if r.ttd_seconds is not None and r.abrupt]
    return EvaluationReport(
        incidents=results,
        alerts=len(opened),
        recall=sum(r.detected for r in results) / len(results) if results else None,
        recall_by_kind={k: sum(v) / len(v) for k, v in by_kind.items()},
        false_alerts=false_total,
        false_alerts_by_channel=dict(false_by_channel),
        channel_days=channel_days,
        false_alerts_per_channel_day=false_total / channel_days if channel_days else None,
        ttd_median=statistics.median(ttds) if ttds else None,
        ttd_worst=max(ttds) if ttds else None,
        abrupt_ttd_median=statistics.median(abrupt_ttds) if abrupt_ttds else None,
        abrupt_ttd_worst=max(abrupt_ttds) if abrupt_ttds else None,
        grace_seconds=grace_seconds,
    )


def _days(labels: dict) -> float:
    scenario = labels.get("scenario") or {}
    if scenario.get("days") is not None:
        return float(scenario["days"])
    if scenario.get("start") is not None and scenario.get("end") is not None:
        return (label_epoch(scenario["end"]) - label_epoch(scenario["start"])) / 86400.0
    return 0.0


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.0f}%"


def _num(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def _dur(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M")


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in [header, *rows])
