"""Unit tests for the per-series alert state machine."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime

import orjson
import pytest

from detectors import Verdict
from streams.alerting import AlertPolicy, SeriesRef, WindowResult, new_alert_state, rfc3339

SIZE = 60.0
CHAT = SeriesRef("chat", "contact_volume")

BAD = Verdict(
    score=81.234, is_anomaly=True, expected=100.0, lower=60.0, upper=140.0,
    direction="down", severity="critical", z=-17.3,
)
FINE = Verdict(
    score=4.0, is_anomaly=False, expected=100.0, lower=60.0, upper=140.0,
    direction="up", severity=None, z=0.2,
)
# Beyond the threshold but not twice beyond it: needs open_after windows in a row.
WARN = Verdict(
    score=55.6, is_anomaly=True, expected=100.0, lower=60.0, upper=140.0,
    direction="down", severity="warning", z=-5.0,
)
# Far out, but in a direction nobody cares about: not an anomaly.
HARMLESS = Verdict(
    score=70.0, is_anomaly=False, expected=100.0, lower=60.0, upper=140.0,
    direction="up", severity="warning", z=9.0,
)


def result(i: int, verdict: Verdict | None, observed: float | None = 50.0, series: SeriesRef = CHAT) -> WindowResult:
    """The result of window ``i`` ([i * 60, (i + 1) * 60))."""
    return WindowResult(series, i * SIZE, (i + 1) * SIZE, observed, None, verdict)


def run(policy: AlertPolicy, verdicts, state=None, series: SeriesRef = CHAT, first: int = 0):
    """Step through consecutive windows from ``first``; the records per window."""
    state = new_alert_state() if state is None else state
    return [policy.step(state, result(first + i, v, series=series)) for i, v in enumerate(verdicts)]


def parse(text: str) -> datetime:
    assert text.endswith("Z")
    return datetime.fromisoformat(text)


# --- opening -----------------------------------------------------------------


def test_opens_on_first_anomalous_window_by_default():
    out = run(AlertPolicy(open_after=1), [FINE, BAD])
    assert out[0] == []
    (record,) = out[1]
    assert record["status"] == "open"
    # Window 1 is [60, 120): it started the deviation and its end detected it.
    assert record["start_epoch"] == 60.0 and record["detected_at_epoch"] == 120.0


def test_opens_after_open_after_consecutive_anomalous_windows():
    out = run(AlertPolicy(open_after=3), [FINE, WARN, WARN, WARN])
    assert out[:3] == [[], [], []]
    (record,) = out[3]
    assert record["status"] == "open"
    # The streak started with window 1 ([60, 120)) and was confirmed at the end of window 3.
    assert record["start_epoch"] == 60.0
    assert record["detected_at_epoch"] == 240.0


def test_interrupted_streak_starts_over():
    out = run(AlertPolicy(open_after=2), [WARN, FINE, WARN, WARN])
    assert out[:3] == [[], [], []]
    (record,) = out[3]
    # The second streak began with window 2 ([120, 180)).
    assert record["start_epoch"] == 120.0


def test_harmless_direction_counts_as_calm():
    out = run(AlertPolicy(open_after=2), [WARN, HARMLESS, WARN])
    assert out == [[], [], []]


def test_a_critical_window_opens_at_once_a_warning_needs_the_streak():
    # |z| = 17.3 is more than twice the threshold: no edge case for persistence to filter.
    (record,) = run(AlertPolicy(open_after=3), [BAD])[0]
    assert record["status"] == "open" and record["severity"] == "critical"
    assert run(AlertPolicy(open_after=3), [WARN, WARN]) == [[], []]
    # A warning streak that turns critical opens then, dated from the streak's start.
    (record,) = run(AlertPolicy(open_after=3), [WARN, BAD])[1]
    assert record["start_epoch"] == 0.0
    # Twice the bar, which feedback raises: at 1.5 x 4, z = -9 is critical but not at once.
    nine = Verdict(score=69.2, is_anomaly=True, expected=100.0, lower=60.0, upper=140.0,
                   direction="down", severity="critical", z=-9.0)
    state = new_alert_state()
    state["sensitivity"] = 1.5
    assert run(AlertPolicy(open_after=3), [nine, nine], state) == [[], []]
    # The old rule, on request.
    assert run(AlertPolicy(open_after=3, critical_at_once=False), [BAD, BAD]) == [[], []]


def test_no_duplicate_open_while_anomaly_persists():
    out = run(AlertPolicy(open_after=1), [BAD] * 10)
    assert [len(records) for records in out] == [1] + [0] * 9


# --- resolving ---------------------------------------------------------------


def test_resolves_after_resolve_after_calm_windows_with_the_same_id():
    out = run(AlertPolicy(open_after=1, resolve_after=2), [BAD, FINE, FINE, FINE])
    (opened,) = out[0]
    assert out[1] == []  # one calm window is not enough
    (resolved,) = out[2]
    assert out[3] == []  # resolved once only
    assert resolved["status"] == "resolved"
    assert resolved["alert_id"] == opened["alert_id"]
    assert resolved["start"] == opened["start"]
    assert resolved["direction"] == opened["direction"] == "down"
    assert resolved["severity"] == opened["severity"] == "critical"
    # Resolved at the end of window 2 ([120, 180)).
    assert parse(resolved["resolved_at"]).timestamp() == 180.0


def test_anomaly_during_calm_period_postpones_resolution():
    out = run(AlertPolicy(open_after=1, resolve_after=2), [BAD, FINE, BAD, FINE, FINE])
    assert [[r["status"] for r in records] for records in out] == [["open"], [], [], [], ["resolved"]]
    # The anomaly in window 2 belongs to the open alert: no second alert was opened.


def test_new_deviation_after_resolution_gets_a_new_id():
    out = run(AlertPolicy(open_after=1, resolve_after=1), [BAD, FINE, FINE, BAD])
    (first,), (resolved,), _, (second,) = out
    assert resolved["alert_id"] == first["alert_id"]
    assert second["status"] == "open"
    assert second["alert_id"] != first["alert_id"]
    assert second["start_epoch"] == 180.0


def test_calm_windows_without_open_alert_send_nothing():
    assert run(AlertPolicy(), [FINE] * 5) == [[]] * 5


# --- windows without a judgement ----------------------------------------------


@pytest.mark.parametrize(
    "window",
    [
        WindowResult(CHAT, 600.0, 660.0, 50.0, None, None),  # no verdict
        WindowResult(CHAT, 600.0, 660.0, None, 0, BAD),  # no observed value
    ],
    ids=["verdict-none", "observed-none"],
)
@pytest.mark.parametrize("before", [[], [BAD], [BAD, BAD], [BAD, FINE]], ids=["fresh", "open", "streak", "calm"])
def test_window_without_value_or_verdict_changes_nothing(window: WindowResult, before: list):
    policy = AlertPolicy(open_after=2, resolve_after=2)
    state = new_alert_state()
    run(policy, before, state)
    snapshot = copy.deepcopy(state)
    assert policy.step(state, window) == []
    assert state == snapshot


def test_window_without_verdict_neither_breaks_nor_extends_a_streak():
    policy, state = AlertPolicy(open_after=2), new_alert_state()
    assert policy.step(state, result(0, WARN)) == []
    assert policy.step(state, result(1, None)) == []
    # Window 2 is the second anomalous window: the alert opens, dated from window 0.
    (record,) = policy.step(state, result(2, WARN))
    assert record["start_epoch"] == 0.0


# --- ids -----------------------------------------------------------------------


def test_alert_id_depends_only_on_series_and_start():
    a = run(AlertPolicy(open_after=1), [BAD], first=5)[0][0]
    b = run(AlertPolicy(open_after=3), [WARN, WARN, BAD], first=5)[2][0]
    # Same series, same start (window 5), different detection time: same id.
    assert a["detected_at_epoch"] != b["detected_at_epoch"]
    assert a["alert_id"] == b["alert_id"]
    assert uuid.UUID(a["alert_id"])  # a well-formed UUID


@pytest.mark.parametrize(
    "other",
    [SeriesRef("phone", "contact_volume"), SeriesRef("chat", "complaint_volume"),
     SeriesRef("chat", "contact_volume", "billing")],
    ids=["other-channel", "other-metric", "touchpoint"],
)
def test_alert_id_differs_between_series(other: SeriesRef):
    mine = run(AlertPolicy(), [BAD], first=5)[0][0]
    theirs = run(AlertPolicy(), [BAD], series=other, first=5)[0][0]
    assert mine["alert_id"] != theirs["alert_id"]


def test_alert_id_differs_between_starts():
    a = run(AlertPolicy(), [BAD], first=5)[0][0]
    b = run(AlertPolicy(), [BAD], first=6)[0][0]
    assert a["alert_id"] != b["alert_id"]


def test_state_survives_json_and_resolves_the_same_alert():
    policy, state = AlertPolicy(open_after=1, resolve_after=1), new_alert_state()
    (opened,) = policy.step(state, result(0, BAD))
    state = orjson.loads(orjson.dumps(state))
    (resolved,) = policy.step(state, result(1, FINE))
    assert resolved["alert_id"] == opened["alert_id"]


# --- records -----------------------------------------------------------------


def test_open_record_fields():
    series = SeriesRef("chat", "contact_volume", "billing")
    policy, state = AlertPolicy(open_after=1), new_alert_state()
    window = WindowResult(series, 1_700_000_040.0, 1_700_000_100.0, 12.0, None, BAD)
    (record,) = policy.step(state, window)
    required = {
        "alert_id", "status", "channel", "metric", "touchpoint", "start", "detected_at",
        "observed", "expected", "direction", "score", "severity",
    }
    assert required <= record.keys()
    assert record["status"] == "open"
    assert (record["channel"], record["metric"], record["touchpoint"]) == ("chat", "contact_volume", "billing")
    assert record["series"] == "chat/contact_volume@billing"
    assert record["observed"] == 12.0
    assert record["expected"] == 100.0
    assert record["direction"] == "down"
    assert record["severity"] == "critical"
    assert record["score"] == 81.23  # rounded to two decimals
    # 1_700_000_000 is 2023-11-14T22:13:20Z, so 40 s later is 22:14:00.
    assert record["start"] == "2023-11-14T22:14:00Z"
    assert record["detected_at"] == "2023-11-14T22:15:00Z"
    assert orjson.loads(orjson.dumps(record)) == record  # sendable as JSON


def test_channel_level_series_has_no_touchpoint():
    (record,) = run(AlertPolicy(), [BAD])[0]
    assert record["touchpoint"] is None
    assert record["series"] == "chat/contact_volume"


def test_record_times_are_rfc3339_utc_with_z():
    out = run(AlertPolicy(open_after=1, resolve_after=1), [BAD, FINE], first=3)
    (opened,), (resolved,) = out
    for record in (opened, resolved):
        for key in ("start", "detected_at"):
            moment = parse(record[key])
            assert moment.utcoffset().total_seconds() == 0
    assert parse(opened["start"]).timestamp() == 180.0
    assert parse(opened["detected_at"]).timestamp() == 240.0
    assert parse(resolved["resolved_at"]).timestamp() == 300.0


@pytest.mark.parametrize(
    ("ts", "text"),
    [
        (0.0, "1970-01-01T00:00:00Z"),
        (86_400.0, "1970-01-02T00:00:00Z"),
        (1.5, "1970-01-01T00:00:01.500000Z"),
        (1_700_000_000.0, "2023-11-14T22:13:20Z"),
    ],
)
def test_rfc3339(ts: float, text: str):
    assert rfc3339(ts) == text
    assert parse(text) == datetime.fromtimestamp(ts, UTC)
