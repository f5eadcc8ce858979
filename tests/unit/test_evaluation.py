"""Scoring alerts against incident labels, with hand-made alerts and labels."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from streams.evaluation import STANDARD_CHANNELS, evaluate

MIN = 60.0


def ts(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


LABELS = {
    "scenario": {"days": 2, "seed": 1, "start": "2024-03-04T00:00:00Z", "end": "2024-03-06T00:00:00Z"},
    "incidents": [
        {"id": "checkout_outage-1", "kind": "checkout_outage", "start": "2024-03-04T10:00:00Z",
         "end": "2024-03-04T10:30:00Z", "channels": ["webshop"],
         "metrics": ["conversion_rate", "cart_abandon_rate"], "abrupt": True},
        {"id": "chat_outage-1", "kind": "chat_outage", "start": "2024-03-04T14:00:00Z",
         "end": "2024-03-04T14:20:00Z", "channels": ["chat", "phone"], "metrics": ["contact_volume"],
         "abrupt": True},
        {"id": "store_smiley_drop-1", "kind": "store_smiley_drop", "start": "2024-03-05T12:00:00Z",
         "end": "2024-03-05T12:40:00Z", "channels": ["store"], "metrics": ["smiley_score", "sad_smiley_share"],
         "abrupt": True, "touchpoints": ["north"]},
        {"id": "nps_drift-1", "kind": "nps_drift", "start": "2024-03-04T08:00:00Z",
         "end": "2024-03-05T20:00:00Z", "channels": ["email"], "metrics": ["nps"], "abrupt": False},
    ],
}

_counter = iter(range(10**6))


def alert(channel: str, metric: str, when: str, *, status: str = "open", touchpoint: str | None = None,
          alert_id: str | None = None, epoch: bool = True) -> dict:
    record = {"alert_id": alert_id or f"a{next(_counter)}", "status": status, "channel": channel,
              "metric": metric, "touchpoint": touchpoint, "start": when, "start_epoch": ts(when),
              "detected_at": when, "detected_at_epoch": ts(when) if epoch else None}
    return record


def rows(report) -> dict:
    return {r.id: r for r in report.incidents}


def test_hit_miss_and_time_to_detect():
    report = evaluate([alert("webshop", "conversion_rate", "2024-03-04T10:02:00Z")], LABELS)
    got = rows(report)
    assert got["checkout_outage-1"].detected and got["checkout_outage-1"].ttd_seconds == 2 * MIN
    assert not got["chat_outage-1"].detected and got["chat_outage-1"].ttd_seconds is None
    assert report.recall == 0.25
    assert report.recall_by_kind == {"checkout_outage": 1.0, "chat_outage": 0.0,
                                     "store_smiley_drop": 0.0, "nps_drift": 0.0}
    assert report.false_alerts == 0


def test_first_matching_alert_sets_ttd_and_any_listed_pair_counts():
    report = evaluate([alert("phone", "contact_volume", "2024-03-04T14:09:00Z"),
                       alert("chat", "contact_volume", "2024-03-04T14:04:00Z")], LABELS)
    row = rows(report)["chat_outage-1"]
    assert row.detected and row.ttd_seconds == 4 * MIN and row.alerts == 2


def test_alerts_on_unlisted_channel_or_metric_during_an_incident_are_false():
    report = evaluate([alert("web", "visits", "2024-03-04T10:05:00Z"),
                       alert("webshop", "order_value", "2024-03-04T10:05:00Z"),
                       alert("email", "contact_volume", "2024-03-05T01:00:00Z")], LABELS)
    assert report.false_alerts == 3
    assert report.false_alerts_by_channel == {"web": 1, "webshop": 1, "email": 1}
    assert not rows(report)["checkout_outage-1"].detected


def test_alert_before_start_is_no_hit_and_not_false_within_grace():
    report = evaluate([alert("webshop", "conversion_rate", "2024-03-04T09:50:00Z")], LABELS)
    assert not rows(report)["checkout_outage-1"].detected
    assert report.false_alerts == 0
    # Further back than the grace it is just a false alert.
    report = evaluate([alert("webshop", "conversion_rate", "2024-03-04T08:30:00Z")], LABELS)
    assert report.false_alerts == 1 and not rows(report)["checkout_outage-1"].detected


def test_grace_after_the_end():
    late = [alert("webshop", "cart_abandon_rate", "2024-03-04T11:15:00Z")]
    report = evaluate(late, LABELS)
    assert rows(report)["checkout_outage-1"].ttd_seconds == 75 * MIN and report.false_alerts == 0
    report = evaluate(late, LABELS, grace_seconds=1800.0)
    assert not rows(report)["checkout_outage-1"].detected and report.false_alerts == 1


def test_median_and_worst_ttd_overall_and_for_abrupt_incidents():
    report = evaluate([alert("webshop", "conversion_rate", "2024-03-04T10:02:00Z"),
                       alert("chat", "contact_volume", "2024-03-04T14:10:00Z"),
                       alert("email", "nps", "2024-03-04T11:00:00Z")], LABELS)
    assert report.recall == 0.75
    assert report.ttd_median == 10 * MIN and report.ttd_worst == 180 * MIN
    assert report.abrupt_ttd_median == 6 * MIN and report.abrupt_ttd_worst == 10 * MIN


def test_no_detections_leave_ttd_empty():
    report = evaluate([], LABELS)
    assert report.recall == 0.0 and report.ttd_median is None and report.abrupt_ttd_worst is None
    assert report.false_alerts_per_channel_day == 0.0


def test_false_alerts_per_channel_day():
    falses = [alert("web", "visits", f"2024-03-05T0{h}:00:00Z") for h in (1, 2, 3)]
    report = evaluate(falses, LABELS)
    assert report.channel_days == 9 * 2
    assert report.false_alerts_per_channel_day == pytest.approx(3 / 18)
    # A channel outside the standard nine adds its own channel-days.
    report = evaluate([*falses, alert("kiosk", "visits", "2024-03-05T04:00:00Z")], LABELS)
    assert report.channel_days == 10 * 2 and report.false_alerts_per_channel_day == pytest.approx(4 / 20)
    # Given channels, plus those of labels and alerts: webshop chat phone store email + web.
    report = evaluate(falses, LABELS, channels=["webshop"])
    assert report.channel_days == 6 * 2
    assert len(STANDARD_CHANNELS) == 9


def test_only_open_records_count_and_replays_count_once():
    records = [alert("web", "visits", "2024-03-05T01:00:00Z", alert_id="x"),
               alert("web", "visits", "2024-03-05T01:00:00Z", alert_id="x"),
               alert("web", "visits", "2024-03-05T01:30:00Z", alert_id="x", status="resolved"),
               alert("webshop", "conversion_rate", "2024-03-04T10:03:00Z", status="resolved")]
    report = evaluate(records, LABELS)
    assert report.alerts == 1 and report.false_alerts == 1
    assert not rows(report)["checkout_outage-1"].detected


def test_labelled_touchpoints_must_match_but_channel_wide_alerts_count():
    south = alert("store", "smiley_score", "2024-03-05T12:05:00Z", touchpoint="south")
    north = alert("store", "sad_smiley_share", "2024-03-05T12:07:00Z", touchpoint="north")
    whole = alert("store", "smiley_score", "2024-03-05T12:06:00Z")
    report = evaluate([south], LABELS)
    assert not rows(report)["store_smiley_drop-1"].detected and report.false_alerts == 1
    assert rows(evaluate([south, north], LABELS))["store_smiley_drop-1"].ttd_seconds == 7 * MIN
    assert rows(evaluate([whole], LABELS))["store_smiley_drop-1"].ttd_seconds == 6 * MIN


def test_rfc3339_detected_at_without_epoch():
    report = evaluate([alert("webshop", "conversion_rate", "2024-03-04T10:01:30Z", epoch=False)], LABELS)
    assert rows(report)["checkout_outage-1"].ttd_seconds == 90.0


def test_to_dict_is_json_and_render_is_a_table():
    report = evaluate([alert("webshop", "conversion_rate", "2024-03-04T10:02:00Z"),
                       alert("web", "visits", "2024-03-05T01:00:00Z")], LABELS)
    data = json.loads(json.dumps(report.to_dict()))
    assert data["recall"] == 0.25 and data["false_alerts"] == 1
    assert data["incidents"][0]["id"] == "nps_drift-1"  # by start time
    text = report.render()
    assert "recall 25%" in text and "false 1" in text
    assert "checkout_outage-1" in text and "2m00s" in text and "NO" in text
    assert any(line.split()[:2] == ["web", "1"] for line in text.splitlines())
