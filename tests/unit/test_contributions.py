"""Which touchpoints carry a channel-level deviation, named in the channel's alert."""

from __future__ import annotations

import os

import pytest

from detectors import Verdict
from streams.alerting import SeriesRef, WindowResult
from streams.contributions import attach_contributors, contributors
from streams.engine import Engine
from streams.events import TouchpointEvent
from streams.settings import KohtaSettings

SIZE = 60.0


def verdict(expected: float) -> Verdict:
    return Verdict(60.0, True, expected, None, None, "up", "warning", 5.0)


def result(key: str, observed: float | None, expected: float | None) -> tuple[str, WindowResult]:
    metric, _, touchpoint = key.partition("@")
    series = SeriesRef("phone", metric, touchpoint or None)
    judged = None if expected is None else verdict(expected)
    return key, WindowResult(series, 0.0, SIZE, observed, None, judged)


def window(channel: tuple[float, float], **parts: tuple[float, float | None]) -> dict[str, WindowResult]:
    """Results of one window: the channel's (observed, expected) and each touchpoint's."""
    results = dict([result("contact_volume", *channel)])
    results.update(result(f"contact_volume@{name}", *values) for name, values in parts.items())
    return results


# --- contributors() -------------------------------------------------------------------


def test_the_touchpoint_with_most_of_the_excess_comes_first():
    # Excess 150 - 100 = 50: billing +40 (0.8), moving +6 (0.12), other +4 (0.08).
    results = window((150, 100), other=(34, 30), moving=(36, 30), billing=(80, 40))
    named = contributors("contact_volume", results)
    assert [c["touchpoint"] for c in named] == ["billing", "moving"]
    assert named[0] == {"touchpoint": "billing", "observed": 80, "expected": 40, "share": 0.8}
    assert named[1]["share"] == 0.12


def test_a_drop_is_shared_the_same_way():
    # Deficit 60 - 100 = -40: billing -32 (0.8), moving -8 (0.2).
    results = window((60, 100), billing=(8, 40), moving=(22, 30), other=(30, 30))
    assert [(c["touchpoint"], c["share"]) for c in contributors("contact_volume", results)] == [
        ("billing", 0.8), ("moving", 0.2)]


def test_touchpoints_moving_against_the_deviation_are_not_named():
    # Excess +20: billing +30 (1.5), moving -10 (-0.5).
    results = window((120, 100), billing=(70, 40), moving=(20, 30))
    assert [c["touchpoint"] for c in contributors("contact_volume", results)] == ["billing"]


def test_at_most_three_are_named():
    # Excess 100, shares 0.3, 0.25, 0.2, 0.15, 0.1.
    results = window((200, 100), a=(40, 10), b=(35, 10), c=(30, 10), d=(25, 10), e=(20, 10))
    assert [c["touchpoint"] for c in contributors("contact_volume", results)] == ["a", "b", "c"]


@pytest.mark.parametrize(
    "results",
    [
        window((100, 100), billing=(50, 40)),  # no excess
        window((150, None), billing=(80, 40)),  # the channel has no verdict
        window((None, 100), billing=(80, 40)),  # no value for the channel
        {k: v for k, v in window((150, 100), billing=(80, 40)).items() if "@" in k},  # no channel result
    ],
    ids=["no-excess", "no-verdict", "no-value", "no-channel"],
)
def test_nothing_to_share(results):
    assert contributors("contact_volume", results) == []


def test_touchpoints_without_a_verdict_or_value_are_skipped():
    results = window((150, 100), billing=(80, 40), warming=(60, None), silent=(None, 30))
    assert [c["touchpoint"] for c in contributors("contact_volume", results)] == ["billing"]


def test_other_metrics_touchpoints_do_not_count():
    results = window((150, 100), billing=(80, 40))
    results.update([result("handle_time@billing", 900.0, 300.0)])
    assert [c["touchpoint"] for c in contributors("contact_volume", results)] == ["billing"]


# --- attach_contributors() -----------------------------------------------------------


def alert(status: str, touchpoint: str | None = None, kind: str = "anomaly") -> dict:
    return {"status": status, "kind": kind, "metric": "contact_volume", "touchpoint": touchpoint}


def test_only_channel_level_open_and_update_anomalies_get_contributors():
    results = window((150, 100), billing=(80, 40))
    records = [alert("open"), alert("update"), alert("resolved"), alert("open", "billing"),
               alert("open", kind="target")]
    attach_contributors(records, results)
    assert [r.get("contributors") for r in records] == [
        [{"touchpoint": "billing", "observed": 80, "expected": 40, "share": 0.8}],
        [{"touchpoint": "billing", "observed": 80, "expected": 40, "share": 0.8}],
        None, None, None,
    ]


# --- through the engine --------------------------------------------------------------


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch) -> Engine:
    for name in list(os.environ):
        if name.startswith("KOHTA_"):
            monkeypatch.delenv(name)
    settings = KohtaSettings(
        topics={"partitions": 1},
        windows={"size_seconds": SIZE, "allowed_lateness_seconds": 0},
        detector={"model": "level", "threshold": 4.0, "warmup": 5},
        alerts={"open_after_windows": 1, "resolve_after_windows": 2},
        metrics=[{"name": "contact_volume", "kind": "count", "where": {"type": ["contact"]},
                  "channels": ["phone"], "by_touchpoint": True}],
    )
    return Engine(settings, windows={}, detectors={}, alerts={})


def feed(engine: Engine, i: int, **per_touchpoint: int) -> list[dict]:
    """Window ``i`` of phone contacts, closed at once by a tick event at the next window's start."""
    events = [
        TouchpointEvent(f"{tp}-{i}-{k}", i * SIZE + (k + 0.5) * SIZE / n, "phone", "contact", touchpoint=tp)
        for tp, n in per_touchpoint.items()
        for k in range(n)
    ]
    events.sort(key=lambda e: e.ts)
    events.append(TouchpointEvent(f"tick-{i}", (i + 1) * SIZE, "phone", "tick"))
    return engine.absorb(0, events, 1_000_000.0 + (i + 1) * SIZE).alerts


def test_phone_spike_names_billing_first(engine: Engine):
    # Constant counts: the detectors learn billing 40, moving 30, other 30 and the channel 100.
    for i in range(6):
        assert feed(engine, i, billing=40, moving=30, other=30) == []
    # The channel goes to 150 (z = 50 / sqrt(100) = 5): +40 billing, +6 moving, +4 other.
    records = feed(engine, 6, billing=80, moving=36, other=34)
    (channel,) = [r for r in records if r["touchpoint"] is None]
    assert channel["status"] == "open" and channel["observed"] == 150
    assert channel["contributors"] == [
        {"touchpoint": "billing", "observed": 80.0, "expected": 40.0, "share": 0.8},
        {"touchpoint": "moving", "observed": 36.0, "expected": 30.0, "share": 0.12},
    ]  # other, at 4 / 50 = 0.08, is under 10 %
    # Billing alerts on its own too (z = 40 / sqrt(40) = 6.3), with no contributors of its own.
    (billing,) = [r for r in records if r["touchpoint"] is not None]
    assert billing["series"] == "phone/contact_volume@billing"
    assert not billing.get("contributors")

    feed(engine, 7, billing=40, moving=30, other=30)
    resolved = feed(engine, 8, billing=40, moving=30, other=30)
    assert {r["status"] for r in resolved} == {"resolved"} and len(resolved) == 2
    assert not any(r.get("contributors") for r in resolved)
