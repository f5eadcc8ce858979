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

    async def handle(self, message: Message) -> None:
        record = orjson.loads(message.value)
        state = self.incidents.get(STATE_KEY) or new_incident_state()
        enriched = enrich_alert(self.correlator, state, record, self.language)
        self.incidents[STATE_KEY] = state
        self.telemetry.open_incidents.set(len(state["open"]))
        await self.alerts.send(key=record["series"].encode(), value=orjson.dumps(enriched))
        self.telemetry.record_alert(enriched)
