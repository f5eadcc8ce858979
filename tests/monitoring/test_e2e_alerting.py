"""The whole alerting path with real servers: an incident in the touchpoint stream,
a worker on the embedded broker, Prometheus scraping it with the repository's rules,
Alertmanager with the repository's routes, and an on-call webhook receiving the alert.
Then every query of the Grafana dashboards must return data from that Prometheus."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest

from streams.broker import free_port
from tests.integration.kafka_helpers import WorkerProcess, metric_value, produce
from tests.integration.scenarios import WINDOW, aligned_past, as_batches, webshop_windows
from tests.monitoring import dashboards
from tests.monitoring.stack import (
    PrometheusAPI,
    WebhookReceiver,
    alertmanager_binary,
    alertmanager_server,
    prometheus_server,
    tool,
    wait_until,
    write_alertmanager_config,
    write_prometheus_config,
    write_rules,
)

pytestmark = pytest.mark.integration

# Dashboard queries allowed to return nothing in this run, each with the reason.
# (A bad message is sent so that the dead-letter panels have data.)
MAY_BE_EMPTY: dict[str, str] = {}

# Receivers in config/alertmanager/alertmanager.yml for a webshop CX alert.
RECEIVER_BY_SEVERITY = {"critical": "cx-page", "warning": "cx-notify"}


def with_touchpoint_series(config: dict[str, Any]) -> None:
    # Conversions carry touchpoint "checkout": a per-touchpoint series on webshop,
    # for the channel dashboard's touchpoint panel.
    config["metrics"].append({"name": "conversions", "kind": "count", "where": {"type": ["conversion"]},
                              "channels": ["webshop"], "by_touchpoint": True})


def inject_open_incident(broker, topic: str) -> None:
    """20 normal windows, then a checkout outage that lasts to the end of the data, so
    that the alert stays open; a later event closes the outage windows. Plus one
    message that is not JSON, for the dead-letter metrics."""
    start = aligned_past()
    events = list(webshop_windows(start, 25, visits=400, rate=0.08, seed=7, outage=range(20, 25)))
    events.append({"event_id": "flush", "ts": start + 27 * WINDOW, "channel": "webshop", "type": "visit"})
    produce(broker.bootstrap, topic, [*as_batches(iter(events), 100, b"webshop"), (b"webshop", b"{not json")])


def is_cx_alert(labels: dict[str, str]) -> bool:
    return (labels.get("alertname") == "KohtaCXAnomaly" and labels.get("channel") == "webshop"
            and labels.get("metric") == "conversion_rate")


@dataclass
class Monitoring:
    prometheus: PrometheusAPI
    webhook: WebhookReceiver
    diagnostics: Callable[[], str]  # log tails, for failure messages


@pytest.fixture
def tools() -> None:
    # Fail at once, before a worker starts, if a server is missing.
    tool("prometheus"), alertmanager_binary()


@pytest.fixture
def worker(tools, start_worker) -> WorkerProcess:
    return start_worker(with_touchpoint_series)


@pytest.fixture
def monitoring(worker: WorkerProcess, tmp_path: Path) -> Iterator[Monitoring]:
    """Alertmanager posting to a local webhook, and Prometheus scraping ``worker``."""
    with contextlib.ExitStack() as stack:
        webhook = stack.enter_context(WebhookReceiver())
        alertmanager = alertmanager_server(
            tmp_path, free_port(), write_alertmanager_config(tmp_path / "alertmanager.yml", webhook_url=webhook.url)
        )
        stack.callback(alertmanager.stop)
        alertmanager.start()
        prometheus = prometheus_server(tmp_path, free_port(), write_prometheus_config(
            tmp_path / "prometheus.yml",
            worker=f"127.0.0.1:{worker.web_port}",
            alertmanager=alertmanager.address,
            rules=write_rules(tmp_path / "kohta.rules.yml"),  # KohtaCXAnomaly `for: 1s`
        ))
        stack.callback(prometheus.stop)
        prometheus.start()

        def diagnostics() -> str:
            return "\n".join([
                f"--- prometheus\n{prometheus.log_tail(15)}", f"--- alertmanager\n{alertmanager.log_tail(15)}",
                f"--- worker\n{worker.log_tail(20)}", f"--- webhook\n{orjson.dumps(webhook.payloads)[:2000]!r}",
            ])

        yield Monitoring(PrometheusAPI(prometheus.url), webhook, diagnostics)


def test_open_incident_alerts_on_call_and_fills_the_dashboards(broker, worker, monitoring: Monitoring):
    api, webhook, explain = monitoring.prometheus, monitoring.webhook, monitoring.diagnostics
    up = wait_until(lambda: api.query('up{job="kohta"} == 1'), timeout=30,
                    what="Prometheus scrapes the worker", explain=explain)
    assert up[0]["metric"]["instance"] == f"127.0.0.1:{worker.web_port}"

    inject_open_incident(broker, worker.settings["topics"]["touchpoints"])

    firing = wait_until(
        lambda: [a for a in api.alerts() if a["state"] == "firing" and is_cx_alert(a["labels"])],
        timeout=90, what="KohtaCXAnomaly fires in Prometheus", explain=explain,
    )
    labels = firing[0]["labels"]
    assert labels["kind"] == "anomaly" and labels["severity"] in RECEIVER_BY_SEVERITY
    # "webshop conversion_rate is 0.005 (expected 0.07714, normal ...": read from the series gauges.
    description = firing[0]["annotations"]["description"]
    numbers = re.match(r"webshop conversion_rate is ([\d.e-]+) \(expected ([\d.e-]+),", description)
    assert numbers, description
    observed, expected = map(float, numbers.groups())
    assert observed < 0.02 < 0.06 < expected, description

    # The publisher names the alert's incident (kohta_alert_incident) a moment after the
    # alert opens, so the first notification may come without it; one with it follows.
    receiver, alert = wait_until(
        lambda: next(((r, a) for r, a in webhook.alerts() if is_cx_alert(a["labels"]) and "incident" in a["labels"]),
                     None),
        timeout=30, what="the on-call webhook receives the alert with its incident", explain=explain,
    )
    assert alert["status"] == "firing"
    assert alert["labels"]["channel"] == "webshop" and alert["labels"]["metric"] == "conversion_rate"
    assert receiver == RECEIVER_BY_SEVERITY[alert["labels"]["severity"]]
    assert alert["annotations"]["description"].startswith("webshop conversion_rate is ")
    # The incident is the one kohta assigned, and Alertmanager grouped the alert by it.
    incident = alert["labels"]["incident"]
    assert api.query(f'kohta_alert_incident{{channel="webshop",metric="conversion_rate",incident="{incident}"}} == 1')
    assert any(payload["groupLabels"] == {"incident": incident} for payload in webhook.payloads), explain()

    empty = []
    for query in dashboards.all_queries():
        # A stat's fallback to 0 must not hide a series that does not exist.
        promql = query.promql().removesuffix(" or vector(0)")
        if not api.query(promql) and promql not in MAY_BE_EMPTY:
            empty.append(f"{query.dashboard} {query.where}: {promql}")
    assert not empty, "dashboard queries without data:\n" + "\n".join(empty)


def test_a_restarted_worker_exports_the_incidents_of_open_alerts(broker, start_worker):
    """The incident state is restored from its changelog: a restarted worker exports
    kohta_alert_incident again at once, before any new alert event, so the alert keeps
    its `incident` label (a changed label set would resolve it and fire a new one)."""
    worker = start_worker(with_touchpoint_series)
    inject_open_incident(broker, worker.settings["topics"]["touchpoints"])

    def incident() -> str | None:
        for line in worker.metrics().splitlines():
            if line.startswith("kohta_alert_incident{") and 'metric="conversion_rate"' in line:
                return re.search(r'incident="([^"]+)"', line).group(1)
        return None

    before = wait_until(incident, timeout=60, what="the worker exports the alert's incident",
                        explain=worker.log_tail)
    worker.stop()
    worker.start()
    after = wait_until(incident, timeout=30, what="the restarted worker exports it again", explain=worker.log_tail)
    assert after == before
    assert metric_value(worker.metrics(), "kohta_incidents_open") == 1
    # No alert record was published since the restart: the export came from the restored table.
    assert metric_value(worker.metrics(), "kohta_alerts_total") is None, worker.log_tail()
