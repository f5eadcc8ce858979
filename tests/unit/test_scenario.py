"""Scenario schedules, labels and the events file in arrival order."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone

import orjson
import pytest

from streams.simulation import INCIDENT_KINDS, KINDS, Incident, build_scenario, generate_events, write_scenario
from streams.simulation.schedule import default_start, rfc3339

HOUR, DAY = 3600.0, 86400.0
MONDAY = datetime(2024, 3, 4, tzinfo=timezone.utc).timestamp()
METRICS = {"visits", "conversion_rate", "cart_abandon_rate", "contact_volume", "complaint_volume",
           "complaints_per_invoice", "cancellation_rate", "nps", "ces", "smiley_score", "sad_smiley_share",
           "handle_time", "order_value"}


@pytest.fixture(scope="module")
def fortnight() -> tuple[list[Incident], list[dict]]:
    return build_scenario(14, seed=1, start=MONDAY)


def test_fortnight_has_every_kind(fortnight):
    incidents, labels = fortnight
    assert {inc.kind for inc in incidents} == INCIDENT_KINDS
    assert len(incidents) >= 16
    assert len(labels) == len(incidents)


def test_durations_and_times_of_day(fortnight):
    for inc in fortnight[0]:
        minutes = (inc.end - inc.start) / 60.0
        assert MONDAY + DAY <= inc.start and inc.end <= MONDAY + 14 * DAY  # first day stays clean
        if inc.kind == "nps_drift":
            assert 48 * 60 <= minutes <= 72 * 60
            continue
        assert minutes == 120 if inc.kind == "campaign_spike" else 20 <= minutes <= 90
        hour_of_day = (inc.start % DAY) / HOUR
        assert 9 <= hour_of_day and hour_of_day + minutes / 60 <= 21


def test_no_two_incidents_share_a_channel_at_once(fortnight):
    incidents = fortnight[0]
    for i, a in enumerate(incidents):
        for b in incidents[i + 1:]:
            if set(a.spec.channels) & set(b.spec.channels):
                assert a.end + HOUR <= b.start or b.end + HOUR <= a.start, (a, b)


def test_labels_describe_the_incidents(fortnight):
    incidents, labels = fortnight
    assert len({label["id"] for label in labels}) == len(labels)
    for inc, label in zip(incidents, labels):
        assert label["kind"] == inc.kind
        assert (label["start"], label["end"]) == (rfc3339(inc.start), rfc3339(inc.end))
        assert label["start"].endswith("Z")
        assert label["channels"] == list(KINDS[inc.kind].channels)
        assert set(label["metrics"]) <= METRICS
        assert label["abrupt"] is (inc.kind != "nps_drift")
        if inc.kind == "store_smiley_drop":
            assert label["touchpoints"] == [inc.param("region")]
        else:
            assert "touchpoints" not in label
    by_kind = {label["kind"]: label for label in labels}
    assert by_kind["checkout_outage"]["metrics"] == ["conversion_rate", "cart_abandon_rate"]
    assert by_kind["chat_outage"]["channels"] == ["chat", "phone"]


def test_deterministic_per_seed(fortnight):
    assert build_scenario(14, seed=1, start=MONDAY) == fortnight
    assert build_scenario(14, seed=2, start=MONDAY)[0] != fortnight[0]
    # Only the time of day of start matters, not the date.
    later = build_scenario(14, seed=1, start=MONDAY + 7 * DAY)[0]
    assert [(i.kind, i.start + 7 * DAY) for i in fortnight[0]] == [(i.kind, i.start) for i in later]


@pytest.mark.parametrize("days", [8, 9, 10, 21])
def test_eight_days_or_more_cover_every_kind(days):
    for seed in range(5):
        incidents, _ = build_scenario(days, seed=seed, start=MONDAY)
        assert {inc.kind for inc in incidents} == INCIDENT_KINDS, (days, seed)


def test_short_scenarios_have_fewer_incidents():
    assert 1 <= len(build_scenario(1, seed=0, start=MONDAY)[0]) < len(build_scenario(3, seed=0, start=MONDAY)[0]) < 8
    for inc in build_scenario(1, seed=0, start=MONDAY)[0]:
        assert MONDAY <= inc.start and inc.end <= MONDAY + DAY


def test_default_start_is_a_monday_in_the_past():
    start = default_start(14)
    assert datetime.fromtimestamp(start, timezone.utc).weekday() == 0 and start % DAY == 0
    assert start + 15 * DAY <= time.time() < start + 22 * DAY
    incidents, _ = build_scenario(14, seed=1)
    assert all(inc.start >= start for inc in incidents)


def test_bad_days_are_rejected():
    for days in (0, -1, 2.5):
        with pytest.raises(ValueError):
            build_scenario(days, seed=1, start=MONDAY)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("scenario")
    reports: list[int] = []
    summary = write_scenario(out, days=2, seed=3, start=MONDAY, rate_scale=0.1, progress=reports.append)
    lines = (out / "events.jsonl").read_bytes().splitlines()
    return summary, [orjson.loads(line) for line in lines], json.loads((out / "labels.json").read_text()), reports


def test_events_file_holds_exactly_the_generated_events(written):
    summary, events, _, _ = written
    incidents, _ = build_scenario(2, seed=3, start=MONDAY)
    expected = list(generate_events(MONDAY, MONDAY + 2 * DAY, seed=3, incidents=incidents, rate_scale=0.1))
    assert summary.events == len(events) == len(expected) > 100_000
    assert sorted(events, key=lambda ev: ev["event_id"]) == sorted(expected, key=lambda ev: ev["event_id"])


def test_events_come_in_arrival_order(written):
    summary, events, _, _ = written
    newest, lags = 0.0, []
    for ev in events:
        lags.append(max(newest - ev["ts"], 0.0))
        newest = max(newest, ev["ts"])
    assert events != sorted(events, key=lambda ev: ev["ts"])
    # An event can only trail the newest one seen by its own delay.
    assert max(lags) <= 300.0
    assert sum(lag > 60.0 for lag in lags) == summary.late
    assert sum(lag > 5.0 for lag in lags) >= 0.5 * summary.delayed
    assert 0.005 < summary.delayed / summary.events < 0.015
    assert 0.0001 < summary.late / summary.events < 0.001


def test_labels_file(written):
    summary, _, labels, _ = written
    assert labels["scenario"] == {"days": 2, "seed": 3, "start": "2024-03-04T00:00:00Z",
                                  "end": "2024-03-06T00:00:00Z"}
    assert labels["incidents"] == build_scenario(2, seed=3, start=MONDAY)[1]
    assert summary.incidents == len(labels["incidents"]) >= 1


def test_progress_reports_hourly_and_ends_with_the_total(written):
    summary, _, _, reports = written
    assert len(reports) == 48 + 1
    assert reports == sorted(reports) and reports[-1] == summary.events


def test_no_partial_file_left(written):
    summary = written[0]
    assert sorted(p.name for p in summary.events_path.parent.iterdir()) == ["events.jsonl", "labels.json"]
