"""The incident of each open alert as a metric (kohta_alert_incident), exported by the
publisher, and the partition gauges dropped when a partition is revoked."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import orjson
from prometheus_client import CollectorRegistry

from streams.publisher import STATE_KEY, AlertPublisher
from streams.settings import KohtaSettings
from streams.telemetry import PipelineTelemetry

GROUPS = [["chat/contact_volume", "phone/contact_volume"]]


class FakeTopic:
    """The one Faust piece the publisher uses: ``send``."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def send(self, *, key: bytes, value: bytes) -> None:
        self.sent.append(orjson.loads(value))


def telemetry(registry: CollectorRegistry, **kwargs: Any) -> PipelineTelemetry:
    kwargs.setdefault("channels", ["chat", "phone", "webshop"])
    kwargs.setdefault("max_discovered_channels", 10)
    return PipelineTelemetry(registry, **kwargs)


def publisher(registry: CollectorRegistry, table: dict, **kwargs: Any) -> tuple[AlertPublisher, FakeTopic]:
    topic = FakeTopic()
    settings = KohtaSettings(incidents={"groups": GROUPS})
    return AlertPublisher(settings, table, telemetry(registry, **kwargs), topic), topic


def alert(series: str, status: str, start: float = 1000.0, *, kind: str = "anomaly", alert_id: str | None = None):
    channel, tail = series.split("/", 1)
    metric, _, touchpoint = tail.partition("@")
    return {
        "alert_id": alert_id or f"{series}|{kind}|{start}", "status": status, "kind": kind, "series": series,
        "channel": channel, "metric": metric, "touchpoint": touchpoint or None,
        "start": "1970-01-01T00:16:40Z", "start_epoch": start,
        "detected_at": "1970-01-01T00:16:40Z", "detected_at_epoch": start,
        "observed": 0.0, "expected": 40.0, "lower": 20.0, "upper": 60.0, "target": None,
        "direction": "down", "score": 90.0, "severity": "critical", "sample_size": None,
    }


def handle(pub: AlertPublisher, record: dict) -> None:
    asyncio.run(pub.handle(SimpleNamespace(value=orjson.dumps(record))))


def incident_gauge(registry: CollectorRegistry) -> dict[tuple[str, str, str, str], float]:
    """{(channel, metric, kind, incident): value} of every kohta_alert_incident child."""
    return {
        (s.labels["channel"], s.labels["metric"], s.labels["kind"], s.labels["incident"]): s.value
        for metric in registry.collect() if metric.name == "kohta_alert_incident"
        for s in metric.samples
    }


def test_the_incident_appears_on_open_stays_on_update_and_goes_on_resolve():
    registry, table = CollectorRegistry(), {}
    pub, topic = publisher(registry, table)

    handle(pub, alert("chat/contact_volume", "open"))
    incident = topic.sent[-1]["incident_id"]
    assert incident
    assert incident_gauge(registry) == {("chat", "contact_volume", "anomaly", incident): 1.0}
    assert registry.get_sample_value("kohta_incidents_open") == 1

    handle(pub, {**alert("chat/contact_volume", "update"), "severity": "warning"})
    assert topic.sent[-1]["incident_id"] == incident
    assert incident_gauge(registry) == {("chat", "contact_volume", "anomaly", incident): 1.0}

    handle(pub, alert("chat/contact_volume", "resolved"))
    assert incident_gauge(registry) == {}
    assert registry.get_sample_value("kohta_incidents_open") == 0


def test_related_alerts_share_the_incident_label_until_each_resolves():
    registry = CollectorRegistry()
    pub, topic = publisher(registry, {})
    handle(pub, alert("chat/contact_volume", "open", 1000.0))
    handle(pub, alert("phone/contact_volume", "open", 1060.0))
    incident = topic.sent[0]["incident_id"]
    assert topic.sent[1]["incident_id"] == incident
    assert incident_gauge(registry) == {
        ("chat", "contact_volume", "anomaly", incident): 1.0,
        ("phone", "contact_volume", "anomaly", incident): 1.0,
    }
    handle(pub, alert("chat/contact_volume", "resolved", 1000.0))
    assert incident_gauge(registry) == {("phone", "contact_volume", "anomaly", incident): 1.0}


def test_touchpoint_alerts_of_one_metric_share_a_series_until_the_last_resolves():
    registry = CollectorRegistry()
    pub, topic = publisher(registry, {})
    handle(pub, alert("phone/contact_volume@billing", "open", 1000.0))
    handle(pub, alert("phone/contact_volume@sales", "open", 1060.0))
    incident = topic.sent[0]["incident_id"]
    assert incident_gauge(registry) == {("phone", "contact_volume", "anomaly", incident): 1.0}
    handle(pub, alert("phone/contact_volume@billing", "resolved", 1000.0))
    assert incident_gauge(registry) == {("phone", "contact_volume", "anomaly", incident): 1.0}
    handle(pub, alert("phone/contact_volume@sales", "resolved", 1060.0))
    assert incident_gauge(registry) == {}


def test_the_kind_is_a_label_and_the_channel_goes_through_the_label_guard():
    registry = CollectorRegistry()
    pub, topic = publisher(registry, {}, channels=["chat"], max_discovered_channels=0)
    handle(pub, alert("kiosk/nps", "open", kind="target"))
    incident = topic.sent[-1]["incident_id"]
    assert incident_gauge(registry) == {("other", "nps", "target", incident): 1.0}
    assert registry.get_sample_value("kohta_label_overflow_total", {"dimension": "channel"}) >= 1


def test_a_restarted_worker_exports_the_incidents_restored_in_its_table():
    table: dict = {}
    first, topic = publisher(CollectorRegistry(), table)
    handle(first, alert("chat/contact_volume", "open", 1000.0))
    handle(first, alert("phone/contact_volume", "open", 1060.0, kind="target"))
    handle(first, alert("chat/contact_volume", "resolved", 1000.0))
    incident = topic.sent[0]["incident_id"]
    assert STATE_KEY in table

    # At startup (the app calls this once the table is restored from its changelog).
    registry = CollectorRegistry()
    restarted, _ = publisher(registry, table)
    restarted.export_incidents()
    assert incident_gauge(registry) == {("phone", "contact_volume", "target", incident): 1.0}
    assert registry.get_sample_value("kohta_incidents_open") == 1

    # Or, failing that, on the first message it handles.
    registry = CollectorRegistry()
    lazy, topic = publisher(registry, table)
    handle(lazy, alert("webshop/conversion_rate", "open", 5000.0))
    other = topic.sent[-1]["incident_id"]
    assert incident_gauge(registry) == {
        ("phone", "contact_volume", "target", incident): 1.0,
        ("webshop", "conversion_rate", "anomaly", other): 1.0,
    }
    # A restored alert that resolves leaves the metric like any other.
    handle(lazy, alert("phone/contact_volume", "resolved", 1060.0, kind="target"))
    assert incident_gauge(registry) == {("webshop", "conversion_rate", "anomaly", other): 1.0}


def test_state_kept_before_kinds_were_recorded_counts_as_anomaly():
    state = {"open": {"i-1": {"start": 0.0, "last_open": 0.0, "members": {
        "a-1": {"series": "chat/contact_volume@sales", "observed": 0.0, "expected": 40.0,
                "direction": "down", "resolved": False},
        "a-2": {"series": "chat/wait_time", "observed": 900.0, "expected": 60.0,
                "direction": "up", "resolved": True},
    }}}, "by_alert": {"a-1": "i-1", "a-2": "i-1"}}
    registry = CollectorRegistry()
    pub, _ = publisher(registry, {STATE_KEY: state})
    pub.export_incidents()
    assert incident_gauge(registry) == {("chat", "contact_volume", "anomaly", "i-1"): 1.0}


def test_a_worker_that_loses_the_partition_exports_no_incident():
    registry = CollectorRegistry()
    pub, _ = publisher(registry, {})
    handle(pub, alert("chat/contact_volume", "open"))
    pub.forget_incidents()
    assert incident_gauge(registry) == {}
    assert registry.get_sample_value("kohta_incidents_open") == 0


def test_forget_partition_removes_exactly_that_partitions_gauges():
    registry = CollectorRegistry()
    metrics = telemetry(registry)
    for topic in ("kohta.touchpoints", "kohta.touchpoints-repartition"):
        for partition in ("0", "1"):
            metrics.consumer_lag.labels(topic=topic, partition=partition).set(5)
    metrics.watermark.labels(partition="0").set(1.7e9)
    metrics.watermark.labels(partition="1").set(1.7e9)

    metrics.forget_partition("kohta.touchpoints", 0)

    lag = {
        (s.labels["topic"], s.labels["partition"])
        for m in registry.collect() if m.name == "kohta_consumer_lag_messages" for s in m.samples
    }
    assert lag == {
        ("kohta.touchpoints", "1"),
        ("kohta.touchpoints-repartition", "0"),
        ("kohta.touchpoints-repartition", "1"),
    }
    assert registry.get_sample_value("kohta_watermark_seconds", {"partition": "0"}) is None
    assert registry.get_sample_value("kohta_watermark_seconds", {"partition": "1"}) == 1.7e9
    # Forgetting the co-partitioned topic's partition, or an unknown one, is harmless.
    metrics.forget_partition("kohta.touchpoints-repartition", 0)
    metrics.forget_partition("kohta.touchpoints", 7)
    assert registry.get_sample_value("kohta_watermark_seconds", {"partition": "1"}) == 1.7e9
