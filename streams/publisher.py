"""The second stage: alerts grouped into incidents, given their text, published.

It reads the one-partition alert-events topic, so a single place sees every
alert in order; its incident state lives in a one-partition Faust table.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

import orjson
from faust.types import TopicT
from faust.types.tuples import Message

from streams.enrich import correlator_for, enrich_alert
from streams.incidents import new_incident_state
from streams.settings import KohtaSettings
from streams.telemetry import PipelineTelemetry

STATE_KEY = "incidents"


class AlertPublisher:
    def __init__(
        self,
        settings: KohtaSettings,
        incidents: MutableMapping[str, Any],
        telemetry: PipelineTelemetry,
        alerts: TopicT,
    ) -> None:
        self.language = settings.language
        self.correlator = correlator_for(settings)
        self.incidents = incidents
        self.telemetry = telemetry
        self.alerts = alerts
        self._exported = False  # the incidents in the table are in the metrics

    def export_incidents(self) -> None:
        """Put the incidents of the open alerts in the table (restored from its changelog
        when a worker starts or takes the partition over) into the metrics."""
        self.telemetry.record_incidents(self.incidents.get(STATE_KEY) or new_incident_state())
        self._exported = True

    def forget_incidents(self) -> None:
        """The partition went to another worker: its incidents are that worker's to export."""
        self.telemetry.forget_incidents()
        self._exported = False

    async def handle(self, message: Message) -> None:
        if not self._exported:
            self.export_incidents()
        record = orjson.loads(message.value)
        state = self.incidents.get(STATE_KEY) or new_incident_state()
        enriched = enrich_alert(self.correlator, state, record, self.language)
        _remember_kind(state, enriched)
        self.incidents[STATE_KEY] = state
        self.telemetry.open_incidents.set(len(state["open"]))
        await self.alerts.send(key=record["series"].encode(), value=orjson.dumps(enriched))
        self.telemetry.record_alert(enriched)
        self.telemetry.record_alert_incident(enriched)


def _remember_kind(state: dict[str, Any], enriched: dict[str, Any]) -> None:
    """Keep the alert's kind with its incident member, for :meth:`AlertPublisher.export_incidents`
    after a restart (members restored from before this was kept count as anomalies)."""
    incident = state["open"].get(enriched["incident_id"]) if enriched["incident_id"] else None
    member = incident["members"].get(enriched["alert_id"]) if incident else None
    if member is not None:
        member["kind"] = enriched.get("kind") or "anomaly"
