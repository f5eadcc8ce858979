"""Alert lifecycle through the engine: persistence, resolve, cooldown, severity
updates, targets, feedback sensitivity and maintenance windows.

Every series here is fed exact, constant counts, so the detector's baseline is
exact too: a count learned as 100 has expected 100 and standard error
sqrt(100) = 10 (the Poisson floor, the learned spread being 0). With threshold 4
the band is 60-140, and a window with ``x`` contacts has z = (x - 100) / 10:
55 -> -4.5 and 50 -> -5 (warning), 10 -> -9 (critical, |z| >= 8).
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from streams.control import Feedback, Maintenance
from streams.engine import Engine
from streams.events import TouchpointEvent
from streams.judging import unpack_detector_state
from streams.settings import KohtaSettings

SIZE = 60.0
WALL_OFFSET = 1_000_000.0
WARM = 6  # windows of normal traffic first: warmup is 5

CONTACTS = {"name": "contact_volume", "kind": "count", "where": {"type": ["contact"]},
            "alerting": {"open_after_windows": 1}}
COMPLAINTS = {"name": "complaint_volume", "kind": "count", "where": {"type": ["complaint"]}}
CONVERSION = {"name": "conversion_rate", "kind": "ratio", "numerator": {"type": ["conversion"]},
              "denominator": {"type": ["visit"]}, "target": {"min": 0.05, "over_windows": 3}}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("KOHTA_"):
            monkeypatch.delenv(name)


def make_engine(*, metrics: list[dict] | None = None, **alerts: int) -> Engine:
    settings = KohtaSettings(
        topics={"partitions": 1},
        windows={"size_seconds": SIZE, "allowed_lateness_seconds": 0.0, "idle_timeout_seconds": 30.0},
        detector={"model": "level", "threshold": 4.0, "warmup": 5, "fading_factor": 0.05},
        alerts={"open_after_windows": 3, "resolve_after_windows": 2, "cooldown_windows": 0, **alerts},
        metrics=metrics if metrics is not None else [CONTACTS, COMPLAINTS],
    )
    return Engine(settings, windows={}, detectors={}, alerts={})


class Feed:
    """Feeds one channel window by window with exact counts per event type.

    Each batch ends with a ``tick`` event (a type no metric takes) at the start
    of the next window: with lateness 0 its watermark closes exactly the window
    just fed, so the alerts returned are that window's.
    """

    def __init__(self, engine: Engine, channel: str = "chat") -> None:
        self.engine, self.channel, self.index = engine, channel, 0
        self.results: list[Any] = []

    def window(self, **counts: int) -> list[dict[str, Any]]:
        i = self.index
        self.index += 1
        events = [
            TouchpointEvent(f"{kind}-{i}-{k}", i * SIZE + (k + 0.5) * SIZE / n, self.channel, kind)
            for kind, n in counts.items()
            for k in range(n)
        ]
        events.sort(key=lambda e: e.ts)
        events.append(TouchpointEvent(f"tick-{i}", (i + 1) * SIZE, self.channel, "tick"))
        outcome = self.engine.absorb(0, events, (i + 1) * SIZE + WALL_OFFSET)
        assert [w.index for w in outcome.closed] == [i]
        self.results += outcome.results
        return outcome.alerts

    def windows(self, n: int, **counts: int) -> list[dict[str, Any]]:
        return [record for _ in range(n) for record in self.window(**counts)]


def of(records: list[dict[str, Any]], series: str) -> list[dict[str, Any]]:
    return [r for r in records if r["series"] == series]


def statuses(records: list[dict[str, Any]]) -> list[str]:
    return [r["status"] for r in records]


# --- persistence: open_after per metric ---------------------------------------------


def test_open_after_is_per_metric_with_the_alerts_default_for_the_rest():
    engine = make_engine()  # alerts: open_after 3; contact_volume overrides it with 1
    feed = Feed(engine)
    assert feed.windows(WARM, contact=100, complaint=100) == []

    # Complaints at 50 are a warning (z = -5): a critical window would open at once.
    first = feed.window(contact=50, complaint=50)  # window 6
    assert statuses(of(first, "chat/contact_volume")) == ["open"]
    assert of(first, "chat/complaint_volume") == []  # 1 of 3
    second = feed.window(contact=50, complaint=50)  # window 7
    assert second == []  # contacts already open (same severity), complaints 2 of 3
    third = feed.window(contact=50, complaint=50)  # window 8
    (complaints,) = of(third, "chat/complaint_volume")
    assert complaints["status"] == "open"
    # The streak began with window 6 ([360, 420)) and was confirmed at the end of window 8.
    assert complaints["start_epoch"] == 360.0
    assert complaints["detected_at_epoch"] == 540.0


def test_interrupted_streak_does_not_open_a_metric_needing_three():
    engine = make_engine()
    feed = Feed(engine)
    feed.windows(WARM, complaint=100)
    out = [feed.window(complaint=n) for n in (50, 50, 100, 50, 50)]
    assert out == [[]] * 5


# --- resolve_after ---------------------------------------------------------------------


def test_resolves_only_after_resolve_after_consecutive_calm_windows():
    engine = make_engine()  # resolve_after 2
    feed = Feed(engine)
    feed.windows(WARM, contact=100)
    (opened,) = feed.window(contact=10)  # window 6
    assert feed.window(contact=100) == []  # calm 1
    assert feed.window(contact=10) == []  # still open, same severity: calm count starts over
    assert feed.window(contact=100) == []  # calm 1
    (resolved,) = feed.window(contact=100)  # calm 2: window 10, ends at 660
    assert resolved["status"] == "resolved"
    assert resolved["alert_id"] == opened["alert_id"]
    assert resolved["resolved_at_epoch"] == 660.0


def test_per_metric_resolve_after_overrides_the_default():
    contacts = {**CONTACTS, "alerting": {"open_after_windows": 1, "resolve_after_windows": 1}}
    feed = Feed(make_engine(metrics=[contacts]))
    feed.windows(WARM, contact=100)
    feed.window(contact=10)
    (resolved,) = feed.window(contact=100)  # one calm window is enough here
    assert resolved["status"] == "resolved"


# --- cooldown --------------------------------------------------------------------------


def test_no_reopen_within_cooldown_then_reopen_after_it():
    feed = Feed(make_engine(cooldown_windows=3))
    feed.windows(WARM, contact=100)
    (first,) = feed.window(contact=10)  # window 6 opens
    feed.window(contact=100)
    (resolved,) = feed.window(contact=100)  # window 8 resolves at 540
    assert resolved["status"] == "resolved"
    # Quiet until 540 + 3 * 60 = 720: windows 9, 10 and 11 (starting 540-660) may not open.
    assert [feed.window(contact=10) for _ in range(3)] == [[], [], []]
    (again,) = feed.window(contact=10)  # window 12 starts at 720: open again
    assert again["status"] == "open"
    assert again["alert_id"] != first["alert_id"]
    assert again["detected_at_epoch"] == 780.0


def test_per_metric_cooldown_zero_overrides_a_nonzero_default():
    contacts = {**CONTACTS, "alerting": {"open_after_windows": 1, "cooldown_windows": 0}}
    feed = Feed(make_engine(metrics=[contacts], cooldown_windows=5))
    feed.windows(WARM, contact=100)
    feed.window(contact=10)
    feed.window(contact=100)
    (resolved,) = feed.window(contact=100)
    assert resolved["status"] == "resolved"
    (again,) = feed.window(contact=10)  # no cooldown for this metric
    assert again["status"] == "open"


# --- severity updates ------------------------------------------------------------------


def test_severity_change_sends_update_with_same_id_and_previous_severity():
    feed = Feed(make_engine())
    feed.windows(WARM, contact=100)
    (opened,) = feed.window(contact=50)  # z = -5: warning
    assert opened["severity"] == "warning"

    (worse,) = feed.window(contact=10)  # z = -9: critical
    assert worse["status"] == "update"
    assert worse["alert_id"] == opened["alert_id"]
    assert (worse["severity"], worse["previous_severity"]) == ("critical", "warning")
    assert worse["start_epoch"] == opened["start_epoch"] == 360.0
    assert worse["observed"] == 10.0

    assert feed.window(contact=10) == []  # still critical: nothing new

    (better,) = feed.window(contact=50)  # back to warning
    assert better["status"] == "update"
    assert better["alert_id"] == opened["alert_id"]
    assert (better["severity"], better["previous_severity"]) == ("warning", "critical")

    feed.window(contact=100)
    (resolved,) = feed.window(contact=100)
    assert resolved["status"] == "resolved"
    assert resolved["alert_id"] == opened["alert_id"]
    assert resolved["severity"] == "warning"  # the latest severity


def test_no_update_while_severity_stays_the_same():
    feed = Feed(make_engine())
    feed.windows(WARM, contact=100)
    (opened,) = feed.window(contact=50)
    # 45 and 55: z = -5.5 and -4.5, both warnings like 50.
    assert [feed.window(contact=n) for n in (45, 55, 50)] == [[], [], []]
    assert feed.engine.alerts["chat/contact_volume"]["anomaly"]["open"]["severity"] == opened["severity"]


# --- targets ---------------------------------------------------------------------------


def test_target_alert_on_the_rolling_value_beside_an_anomaly_alert():
    # Conversion 40/400 = 0.10 per window; the target is >= 0.05 over 3 windows.
    # 0/400 after that baseline is z = -0.10 / 0.01507 = -6.6 (the binomial floor
    # sqrt(p(1-p)/400) with p = 40.5/401): an anomaly in every outage window.
    feed = Feed(make_engine(metrics=[CONVERSION], open_after_windows=1), channel="webshop")
    assert feed.windows(WARM, visit=400, conversion=40) == []

    # Window 6: the window's own rate is 0, but over windows 4-6 it is 80/1200 = 0.067.
    (anomaly,) = feed.window(visit=400)
    assert (anomaly["kind"], anomaly["status"], anomaly["direction"]) == ("anomaly", "open", "down")

    # Window 7: over windows 5-7, 40/1200 = 0.033 < 0.05: the target alert opens.
    (target,) = feed.window(visit=400)
    assert (target["kind"], target["status"], target["direction"]) == ("target", "open", "down")
    assert target["series"] == anomaly["series"] == "webshop/conversion_rate"
    assert target["alert_id"] != anomaly["alert_id"]
    assert target["observed"] == pytest.approx(40 / 1200)
    assert target["target"] == {"min": 0.05, "max": None}
    assert target["start_epoch"] == 420.0
    assert target["severity"] == "warning"
    # Both kinds are open at once on the same series.
    state = feed.engine.alerts["webshop/conversion_rate"]
    assert state["anomaly"]["open"]["alert_id"] == anomaly["alert_id"]
    assert state["target"]["open"]["alert_id"] == target["alert_id"]

    # Window 8: back to 0.10; the anomaly is calm (1 of 2), the target still
    # breached over windows 6-8 (40/1200).
    assert feed.window(visit=400, conversion=40) == []
    # Window 9: the anomaly resolves; windows 7-9 give 80/1200 = 0.067, target calm 1.
    (anomaly_resolved,) = feed.window(visit=400, conversion=40)
    assert (anomaly_resolved["kind"], anomaly_resolved["status"]) == ("anomaly", "resolved")
    assert anomaly_resolved["alert_id"] == anomaly["alert_id"]
    # Window 10: target calm 2: resolved with its own id.
    (target_resolved,) = feed.window(visit=400, conversion=40)
    assert (target_resolved["kind"], target_resolved["status"]) == ("target", "resolved")
    assert target_resolved["alert_id"] == target["alert_id"]
    assert target_resolved["observed"] == pytest.approx(0.10)


def test_target_max_breach_opens_upwards():
    # A count target: at most 250 contacts over 2 windows. 100 + 200 = 300, and even
    # 300 - 2 * sqrt(300) = 265.4 (two Poisson standard errors) is above 250.
    contacts = {**CONTACTS, "target": {"max": 250, "over_windows": 2}}
    feed = Feed(make_engine(metrics=[contacts]))
    feed.windows(WARM, contact=100)
    records = feed.window(contact=200)  # far past the band: the anomaly opens too
    by_kind = {r["kind"]: r for r in records}
    assert set(by_kind) == {"anomaly", "target"}
    assert by_kind["target"]["direction"] == "up"
    assert by_kind["target"]["observed"] == 300.0
    assert by_kind["target"]["alert_id"] != by_kind["anomaly"]["alert_id"]


def test_target_breach_within_sampling_error_does_not_open():
    # 100 + 160 = 260 is over 250, but 260 - 2 * sqrt(260) = 227.8 is not: could be noise.
    contacts = {**CONTACTS, "target": {"max": 250, "over_windows": 2}}
    feed = Feed(make_engine(metrics=[contacts]))
    feed.windows(WARM, contact=100)
    assert [r["kind"] for r in feed.window(contact=160)] == ["anomaly"]


# --- feedback --------------------------------------------------------------------------


def test_false_alarm_feedback_raises_the_bar_and_confirmed_restores_it():
    engine = make_engine()
    feed = Feed(engine)
    feed.windows(WARM, contact=100)
    engine.apply_control(Feedback("chat/contact_volume", "some-alert", "false_alarm"))
    assert engine.alerts["chat/contact_volume"]["sensitivity"] == 1.25

    # 55 is z = -4.5: past 4, but short of 4 * 1.25 = 5.
    assert feed.window(contact=55) == []
    feed.window(contact=100)
    # 45 is z = -5.5: past 5, still opens.
    (opened,) = feed.window(contact=45)
    assert opened["status"] == "open"
    feed.windows(2, contact=100)  # resolved

    engine.apply_control(Feedback("chat/contact_volume", "some-alert", "confirmed"))
    assert engine.alerts["chat/contact_volume"]["sensitivity"] == 1.0
    (again,) = feed.window(contact=55)
    assert again["status"] == "open"


def test_feedback_only_touches_its_own_series():
    engine = make_engine()
    feed = Feed(engine)
    feed.windows(WARM, contact=100, complaint=100)
    engine.apply_control(Feedback("chat/complaint_volume", "x", "false_alarm"))
    assert statuses(of(feed.window(contact=55), "chat/contact_volume")) == ["open"]


def test_sensitivity_is_capped_at_two_and_never_below_one():
    engine = make_engine()
    series = "chat/contact_volume"
    seen = []
    for _ in range(5):
        engine.apply_control(Feedback(series, "a", "false_alarm"))
        seen.append(engine.alerts[series]["sensitivity"])
    # 1.25, 1.5625, 1.953125, then 2.44 capped at 2.0, and 2.0 again.
    assert seen == [1.25, 1.5625, 1.953125, 2.0, 2.0]
    for _ in range(6):
        engine.apply_control(Feedback(series, "a", "confirmed"))
    # 2.0 / 1.25 = 1.6, 1.28, 1.024, then 0.82 floored at 1.0.
    assert engine.alerts[series]["sensitivity"] == 1.0


def test_feedback_survives_for_a_series_not_seen_yet():
    engine = make_engine()
    engine.apply_control(Feedback("chat/contact_volume", "a", "false_alarm"))
    feed = Feed(engine)
    feed.windows(WARM, contact=100)
    # The state created by the feedback is kept as the series starts: 55 does not open.
    assert feed.window(contact=55) == []
    assert engine.alerts["chat/contact_volume"]["sensitivity"] == 1.25


# --- maintenance -----------------------------------------------------------------------


def test_maintenance_windows_neither_open_nor_teach_then_normal_again():
    engine = make_engine()
    feed = Feed(engine)
    feed.windows(WARM, contact=100)
    # [390, 540) overlaps windows 6 ([360, 420)), 7 and 8; window 9 starts at 540.
    engine.apply_control(Maintenance("chat", 390.0, 540.0, "release"))
    before = unpack_detector_state(engine.detectors["chat/contact_volume"])

    # A drop, an in-band value that would otherwise be learned (z = 3), a zero.
    assert [feed.window(contact=n) for n in (10, 130, 0)] == [[], [], []]
    # Nothing learned: only the bookkeeping mark of the last judged close moved on.
    learned = {k: v for k, v in unpack_detector_state(engine.detectors["chat/contact_volume"]).items()
               if k != "judged_through"}
    assert learned == {k: v for k, v in before.items() if k != "judged_through"}
    suppressed = [r for r in feed.results if r.series.id == "chat/contact_volume" and r.suppressed]
    assert [r.start for r in suppressed] == [360.0, 420.0, 480.0]
    assert all(r.verdict is not None for r in suppressed)  # still scored and shown

    (opened,) = feed.window(contact=10)  # window 9: after the maintenance
    assert opened["status"] == "open"
    assert opened["start_epoch"] == 540.0
    feed.windows(2, contact=100)
    # Normal windows after the maintenance are learned again (the drop in window 9
    # is out of band, so not learned).
    assert unpack_detector_state(engine.detectors["chat/contact_volume"])["learned"] == before["learned"] + 2


def test_maintenance_of_another_channel_changes_nothing_here():
    engine = make_engine()
    feed = Feed(engine)
    feed.windows(WARM, contact=100)
    engine.apply_control(Maintenance("phone", 0.0, 10_000.0))
    (opened,) = feed.window(contact=10)
    assert opened["status"] == "open"


def test_open_alert_is_neither_resolved_nor_updated_during_maintenance():
    engine = make_engine()
    feed = Feed(engine)
    feed.windows(WARM, contact=100)
    (opened,) = feed.window(contact=50)  # window 6
    engine.apply_control(Maintenance("chat", 420.0, 600.0))  # windows 7, 8, 9
    assert [feed.window(contact=n) for n in (100, 100, 10)] == [[], [], []]
    assert engine.alerts["chat/contact_volume"]["anomaly"]["open"]["alert_id"] == opened["alert_id"]
