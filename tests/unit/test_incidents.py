"""Incident grouping across related series."""

from __future__ import annotations

from streams.incidents import IncidentCorrelator, new_incident_state


def alert(series: str, status: str, start: float, *, alert_id: str | None = None, observed=0.0, expected=100.0):
    return {
        "alert_id": alert_id or f"{series}|{start}",
        "status": status,
        "series": series,
        "start_epoch": start,
        "observed": observed,
        "expected": expected,
        "direction": "down" if observed < expected else "up",
    }


GROUPS = [["chat/contact_volume", "phone/contact_volume"]]


def test_related_alerts_close_in_time_share_an_incident():
    correlator, state = IncidentCorrelator(groups=GROUPS, window_seconds=1800), new_incident_state()
    chat = correlator.assign(state, alert("chat/contact_volume", "open", 1000.0, observed=0.0, expected=40.0))
    phone = correlator.assign(state, alert("phone/contact_volume", "open", 1060.0, observed=90.0, expected=50.0))
    assert chat["incident_id"] == phone["incident_id"] is not None
    # -100 % for chat, +80 % for phone, dated from the first alert.
    assert phone["incident_summary"] == (
        "chat contact_volume -100%, phone contact_volume +80% since 1970-01-01 00:16 UTC"
    )


def test_touchpoint_series_belong_to_their_metrics_group():
    correlator, state = IncidentCorrelator(groups=GROUPS), new_incident_state()
    a = correlator.assign(state, alert("chat/contact_volume", "open", 0.0))
    b = correlator.assign(state, alert("phone/contact_volume@billing", "open", 60.0, observed=200.0))
    assert a["incident_id"] == b["incident_id"]


def test_unrelated_or_distant_alerts_open_their_own_incidents():
    correlator, state = IncidentCorrelator(groups=GROUPS, window_seconds=600), new_incident_state()
    chat = correlator.assign(state, alert("chat/contact_volume", "open", 0.0))
    webshop = correlator.assign(state, alert("webshop/conversion_rate", "open", 60.0, observed=0.01, expected=0.07))
    phone_later = correlator.assign(state, alert("phone/contact_volume", "open", 3600.0, observed=90.0, expected=50.0))
    assert len({chat["incident_id"], webshop["incident_id"], phone_later["incident_id"]}) == 3


def test_same_channel_alerts_group_without_configuration():
    correlator, state = IncidentCorrelator(), new_incident_state()
    a = correlator.assign(state, alert("webshop/conversion_rate", "open", 0.0, observed=0.01, expected=0.07))
    b = correlator.assign(state, alert("webshop/cart_abandon_rate", "open", 120.0, observed=0.5, expected=0.2))
    assert a["incident_id"] == b["incident_id"]


def test_incident_closes_when_every_member_resolved_and_ids_are_deterministic():
    correlator, state = IncidentCorrelator(groups=GROUPS), new_incident_state()
    opened = correlator.assign(state, alert("chat/contact_volume", "open", 0.0, alert_id="a1"))
    correlator.assign(state, alert("phone/contact_volume", "open", 60.0, alert_id="a2", observed=90.0, expected=50.0))
    first = correlator.assign(state, alert("chat/contact_volume", "resolved", 0.0, alert_id="a1", observed=40.0))
    assert first["incident_id"] == opened["incident_id"] and state["open"]
    correlator.assign(state, alert("phone/contact_volume", "resolved", 60.0, alert_id="a2", observed=50.0))
    assert state == new_incident_state()
    again = IncidentCorrelator(groups=GROUPS).assign(new_incident_state(), alert("chat/contact_volume", "open", 0.0,
                                                                                 alert_id="a1"))
    assert again["incident_id"] == opened["incident_id"]


def test_alert_unknown_to_the_correlator_passes_with_no_incident():
    correlator, state = IncidentCorrelator(), new_incident_state()
    record = correlator.assign(state, alert("chat/contact_volume", "resolved", 0.0))
    assert record["incident_id"] is None and record["incident_summary"] is None
