"""Prometheus metrics of the worker, on a registry handed in (one per app, one per test).

Label values come from the configured channels and metrics, or from a capped set
of discovered channels and touchpoints; past the cap they read ``other``. Event
ids and customer ids are never labels.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from streams.alerting import WindowResult
from streams.series_metrics import SeriesGauges

OTHER = "other"


class LabelGuard:
    """Admits configured values always, and up to ``cap`` discovered ones."""

    def __init__(self, configured: Iterable[str], cap: int, overflow: Counter, dimension: str) -> None:
        self._configured = frozenset(configured)
        self._discovered: set[str] = set()
        self._cap = cap
        self._overflow = overflow.labels(dimension=dimension)

    def __call__(self, value: str | None) -> str:
        if value is None:
            return ""
        if value in self._configured or value in self._discovered:
            return value
        if len(self._discovered) < self._cap:
            self._discovered.add(value)
            return value
        self._overflow.inc()
        return OTHER


class PipelineTelemetry:
    def __init__(
        self,
        registry: CollectorRegistry,
        *,
        channels: Iterable[str],
        max_discovered_channels: int,
        max_discovered_touchpoints: int = 100,
    ) -> None:
        self.events = Counter(
            "kohta_events_total",
            "Touchpoint events by channel and outcome (accepted, late, forwarded; rejected under channel=invalid).",
            ["channel", "outcome"],
            registry=registry,
        )
        self.rejected = Counter(
            "kohta_dead_letters_total",
            "Messages or events sent to the dead-letter topic, by reason.",
            ["reason"],
            registry=registry,
        )
        self.messages = Counter(
            "kohta_messages_total", "Kafka messages read, by topic.", ["topic"], registry=registry
        )
        overflow = Counter(
            "kohta_label_overflow_total",
            "Label values folded into `other` because their cap was reached.",
            ["dimension"],
            registry=registry,
        )
        cap = Gauge(
            "kohta_label_values_cap", "Discovered label values allowed.", ["dimension"], registry=registry
        )
        cap.labels(dimension="channel").set(max_discovered_channels)
        cap.labels(dimension="touchpoint").set(max_discovered_touchpoints)
        self.channel = LabelGuard(channels, max_discovered_channels, overflow, "channel")
        self.touchpoint = LabelGuard((), max_discovered_touchpoints, overflow, "touchpoint")
        self.series = SeriesGauges(registry)
        self.open_alerts = Gauge(
            "kohta_alerts_open", "Alerts currently open.", ["channel", "metric", "kind", "severity"],
            registry=registry,
        )
        self.alerts_sent = Counter(
            "kohta_alerts_total", "Alert records sent, by status and kind.", ["status", "kind"],
            registry=registry,
        )
        self.open_incidents = Gauge(
            "kohta_incidents_open", "Incidents (groups of related open alerts) currently open.",
            registry=registry,
        )
        self.alert_incident = Gauge(
            "kohta_alert_incident",
            "1 while an alert of this channel, metric and kind is open in this incident. A series "
            "exists only while such an alert is open: at most one per open alert.",
            ["channel", "metric", "kind", "incident"],
            registry=registry,
        )
        # Open alert id -> its kohta_alert_incident labels. Alerts of touchpoint series
        # share their metric's labels, so a child goes only when its last alert resolves.
        self._alert_incidents: dict[str, tuple[str, str, str, str]] = {}
        self.detector_seconds = Histogram(
            "kohta_detector_update_seconds",
            "Time to score and learn one series' closed window.",
            buckets=(1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 5e-3, float("inf")),
            registry=registry,
        )
        self.offset_holes = Counter(
            "kohta_offset_holes_total",
            "Messages set aside because an offset before them never reached the agent "
            "(outcome=reread: the partition is read again from the hole; set_aside: a "
            "read again was just asked for), by topic.",
            ["topic", "outcome"],
            registry=registry,
        )
        # Small batches cost: each rewrites its channels' window records to the changelog.
        self.batch_messages = Histogram(
            "kohta_batch_messages",
            "Messages per batch the agent processed (consumer.batch_messages is the most).",
            buckets=(1, 5, 10, 25, 50, 100, 250, 500, 1000, float("inf")),
            registry=registry,
        )
        self.changelog_records = Counter(
            "kohta_changelog_records_total",
            "State records written to the changelog (each a producer send; one per changed key per batch).",
            registry=registry,
        )
        self.consumer_lag = Gauge(
            "kohta_consumer_lag_messages",
            "Messages between the worker's position and the end of each owned partition.",
            ["topic", "partition"],
            registry=registry,
        )
        self.close_lag = Histogram(
            "kohta_window_close_lag_seconds",
            "Wall-clock seconds from a window's end to its close (includes the allowed lateness).",
            buckets=(1, 5, 15, 30, 60, 120, 180, 300, 600, 1800, 3600, float("inf")),
            registry=registry,
        )
        self.watermark = Gauge(
            "kohta_watermark_seconds", "Event-time watermark per partition (Unix time).", ["partition"],
            registry=registry,
        )

    def series_labels(self, result: WindowResult) -> tuple[str, str, str]:
        return (self.channel(result.series.channel), result.series.metric,
                self.touchpoint(result.series.touchpoint))

    def record_result(self, result: WindowResult) -> None:
        if result.observed is None:
            return
        self.detector_seconds.observe(result.update_seconds)
        verdict = result.verdict
        if verdict is None:
            self.series.set(self.series_labels(result), observed=result.observed)
            return
        self.series.set(
            self.series_labels(result), observed=result.observed, expected=verdict.expected,
            lower=verdict.lower, upper=verdict.upper, score=verdict.score,
        )

    def record_alert(self, record: dict) -> None:
        self.alerts_sent.labels(status=record["status"], kind=record.get("kind", "anomaly")).inc()

    def record_open_alerts(self, alert_states: Iterable[dict]) -> None:
        """Recount open alerts from the alert table, so a restarted worker reports them too."""
        counts: dict[tuple[str, str, str, str], int] = {}
        for state in alert_states:
            for kind in ("anomaly", "target"):
                opened = state.get(kind, {}).get("open")
                if not opened:
                    continue
                key = (self.channel(opened["channel"]), opened["metric"], kind, opened["severity"] or "none")
                counts[key] = counts.get(key, 0) + 1
        self.open_alerts.clear()
        for (channel, metric, kind, severity), count in counts.items():
            self.open_alerts.labels(channel=channel, metric=metric, kind=kind, severity=severity).set(count)

    def record_alert_incident(self, record: dict) -> None:
        """Export the incident of an open (or updated) alert record; withdraw it on resolve."""
        alert_id = record["alert_id"]
        if record["status"] == "resolved":
            self._withdraw_incident(alert_id)
            return
        incident = record.get("incident_id")
        if incident is None:
            return
        labels = (self.channel(record["channel"]), record["metric"], record.get("kind") or "anomaly", incident)
        previous = self._alert_incidents.get(alert_id)
        if previous == labels:
            return
        if previous is not None:
            self._withdraw_incident(alert_id)
        self._alert_incidents[alert_id] = labels
        self.alert_incident.labels(*labels).set(1)

    def _withdraw_incident(self, alert_id: str) -> None:
        labels = self._alert_incidents.pop(alert_id, None)
        if labels is not None and labels not in self._alert_incidents.values():
            self.alert_incident.remove(*labels)

    def record_incidents(self, state: dict) -> None:
        """Export the open incidents and their open alerts from the incident state (as
        restored from its changelog, when a worker starts or takes the partition over)."""
        self.forget_incidents()
        for incident, entry in state["open"].items():
            for alert_id, member in entry["members"].items():
                if member.get("resolved"):
                    continue
                channel, _, tail = member["series"].partition("/")
                self.record_alert_incident({
                    "alert_id": alert_id, "status": "open", "incident_id": incident, "channel": channel,
                    "metric": tail.split("@", 1)[0], "kind": member.get("kind"),
                })
        self.open_incidents.set(len(state["open"]))

    def forget_incidents(self) -> None:
        """Export no incident: another worker owns the incident state now."""
        self._alert_incidents.clear()
        self.alert_incident.clear()
        self.open_incidents.set(0)

    def forget_partition(self, topic: str, partition: int) -> None:
        """Drop the gauges of a partition this worker no longer owns, so that they do not
        report its last values for ever (its new owner reports it)."""
        self.consumer_lag.remove(topic, str(partition))
        self.watermark.remove(str(partition))
