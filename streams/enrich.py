"""The last step before an alert is published: its incident and its text."""

from __future__ import annotations

from typing import Any

from streams.alert_text import describe
from streams.incidents import IncidentCorrelator
from streams.settings import KohtaSettings


def correlator_for(settings: KohtaSettings) -> IncidentCorrelator:
    return IncidentCorrelator(groups=settings.incidents.groups, window_seconds=settings.incidents.window_seconds)


def enrich_alert(
    correlator: IncidentCorrelator, state: dict[str, Any], record: dict[str, Any], language: str
) -> dict[str, Any]:
    enriched = correlator.assign(state, record)
    enriched["text"] = describe(enriched, language)
    return enriched
