"""Grouping alerts into incidents: one story for on-call instead of five pages.

Alerts that open close together in event time on related series share an
incident: series of the same channel are related, and so are the series of each
configured group (a chat outage pushing contacts to the phone, an invoicing
error driving billing calls). The state is one JSON-able dict; every alert
passes through :meth:`IncidentCorrelator.assign` in the order it was sent.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

_INCIDENT_NAMESPACE = uuid.UUID("0b7a3f52-4f0c-4a8e-8a7e-6b6f68746149")
_MAX_SUMMARY_PARTS = 3


def new_incident_state() -> dict[str, Any]:
    return {"open": {}, "by_alert": {}}


def _metric_of(series: str) -> str:
    """``phone/contact_volume@billing`` → ``phone/contact_volume``."""
    return series.split("@", 1)[0]


def _change(member: dict[str, Any]) -> str:
    observed, expected = member.get("observed"), member.get("expected")
    if observed is None or not expected:
        return member.get("direction") or ""
    return f"{(observed - expected) / abs(expected):+.0%}"


class IncidentCorrelator:
    def __init__(self, *, groups: Sequence[Sequence[str]] = (), window_seconds: float = 1800.0) -> None:
        self.window_seconds = window_seconds
        self._groups = [frozenset(group) for group in groups]

    def related(self, a: str, b: str) -> bool:
        if a.split("/", 1)[0] == b.split("/", 1)[0]:
            return True
        ma, mb = _metric_of(a), _metric_of(b)
        return any((a in g or ma in g) and (b in g or mb in g) for g in self._groups)

    def assign(self, state: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
        """Return ``record`` with ``incident_id`` and ``incident_summary``; update ``state``."""
        alert_id, status = record["alert_id"], record["status"]
        incident_id = state["by_alert"].get(alert_id)
        if status == "open" and incident_id is None:
            incident_id = self._join_or_open(state, record)
        incident = state["open"].get(incident_id) if incident_id else None
        if incident is None:
            return {**record, "incident_id": incident_id, "incident_summary": None}
        member = incident["members"].setdefault(alert_id, {})
        member.update(
            series=record["series"], observed=record["observed"], expected=record["expected"],
            direction=record["direction"], resolved=status == "resolved",
        )
        summary = self._summary(incident)
        if all(m["resolved"] for m in incident["members"].values()):
            del state["open"][incident_id]
            for member_id in incident["members"]:
                state["by_alert"].pop(member_id, None)
        return {**record, "incident_id": incident_id, "incident_summary": summary}

    def _join_or_open(self, state: dict[str, Any], record: dict[str, Any]) -> str:
        start = record["start_epoch"]
        for incident_id, incident in sorted(state["open"].items(), key=lambda item: item[1]["start"]):
            close_in_time = abs(start - incident["last_open"]) <= self.window_seconds
            if close_in_time and any(self.related(record["series"], m["series"]) for m in incident["members"].values()):
                incident["last_open"] = max(incident["last_open"], start)
                state["by_alert"][record["alert_id"]] = incident_id
                return incident_id
        incident_id = str(uuid.uuid5(_INCIDENT_NAMESPACE, record["alert_id"]))
        state["open"][incident_id] = {"start": start, "last_open": start, "members": {}}
        state["by_alert"][record["alert_id"]] = incident_id
        return incident_id

    @staticmethod
    def _summary(incident: dict[str, Any]) -> str:
        members = sorted(incident["members"].values(), key=lambda m: m["series"])
        parts = [f"{m['series'].replace('/', ' ')} {_change(m)}".strip() for m in members[:_MAX_SUMMARY_PARTS]]
        if len(members) > _MAX_SUMMARY_PARTS:
            parts.append(f"and {len(members) - _MAX_SUMMARY_PARTS} more")
        since = datetime.fromtimestamp(incident["start"], UTC).strftime("%Y-%m-%d %H:%M")
        return f"{', '.join(parts)} since {since} UTC"
