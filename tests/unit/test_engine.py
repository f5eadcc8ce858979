"""Unit tests for the engine: windowing, detection and alerting without Kafka."""

from __future__ import annotations

import os
import random
from collections.abc import Iterable

import orjson
import pytest

from streams import fingerprints as fp
from streams.engine import Engine, Outcome
from streams.events import TouchpointEvent
from streams.judging import unpack_detector_state
from streams.partitioning import partition_for
from streams.settings import KohtaSettings
from tests.unit.helpers import poisson

SIZE = 60.0
WALL_OFFSET = 1_000_000.0  # wall clock = event time + this, as for a live stream


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """KohtaSettings reads KOHTA_* variables: none of the shell's may leak in."""
    for name in list(os.environ):
        if name.startswith("KOHTA_"):
            monkeypatch.delenv(name)


def make_settings(*, partitions: int = 1, lateness: float = 0.0, idle: float = 30.0, **extra) -> KohtaSettings:
    return KohtaSettings(
        topics={"partitions": partitions},
        windows={"size_seconds": SIZE, "allowed_lateness_seconds": lateness, "idle_timeout_seconds": idle},
        detector={"model": "level", "threshold": 4.0, "warmup": 10, "fading_factor": 0.05},
        alerts={"open_after_windows": 1, "resolve_after_windows": 2},
        metrics=[
            {"name": "contact_volume", "kind": "count", "where": {"type": ["contact"]}},
            {
                "name": "resolution_rate",
                "kind": "ratio",
                "numerator": {"type": ["resolved"]},
                "denominator": {"type": ["contact"]},
            },
        ],
        **extra,
    )


def make_engine(settings: KohtaSettings, state: tuple[dict, ...] | None = None) -> Engine:
    """An engine on ``state``: (windows, detectors, alerts[, watermarks[, fingerprints]]) mappings."""
    windows, detectors, alerts, *more = state if state is not None else ({}, {}, {})
    return Engine(settings, windows=windows, detectors=detectors, alerts=alerts,
                  watermarks=more[0] if more else None, fingerprints=more[1] if len(more) > 1 else None)




def window_events(rng: random.Random, channel: str, index: int, n: int, type: str = "contact") -> list[TouchpointEvent]:
    """``n`` events spread over window ``index``, in time order."""
    times = sorted(index * SIZE + rng.random() * SIZE for _ in range(n))
    return [
        TouchpointEvent(event_id=f"{channel}-{index}-{k}", ts=ts, channel=channel, type=type)
        for k, ts in enumerate(times)
    ]


def contacts_per_window(rng: random.Random, rates: list[float]) -> list[int]:
    return [poisson(rng, lam) for lam in rates]


def feed(engine: Engine, partition: int, batches: Iterable[list[TouchpointEvent]]) -> Outcome:
    """Absorb each batch, with the wall clock at the batch's newest event time."""
    total = Outcome()
    for batch in batches:
        wall = (max(e.ts for e in batch) if batch else 0.0) + WALL_OFFSET
        total.extend(engine.absorb(partition, batch, wall))
    return total


def channels_by_partition(partitions: int) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for k in range(200):
        name = f"channel_{k}"
        found.setdefault(partition_for(name, partitions), []).append(name)
    return found


# A steady contact rate of 100 per window for 40 windows, a drop to 20 for 3
# windows (windows 40-42), then 100 again.
STEADY, DROP, RECOVERY = 40, 3, 10
RATES = [100.0] * STEADY + [20.0] * DROP + [100.0] * RECOVERY


def outage_batches(seed: int, channel: str = "chat") -> list[list[TouchpointEvent]]:
    rng = random.Random(seed)
    counts = contacts_per_window(rng, RATES)
    # One more window at the normal rate so that the last recovery window closes.
    counts.append(poisson(rng, 100.0))
    return [window_events(rng, channel, i, n) for i, n in enumerate(counts)]


# --- detection and alerting ---------------------------------------------------


def test_drop_opens_down_alert_and_recovery_resolves_it():
    engine = make_engine(make_settings())
    outcome = feed(engine, 0, outage_batches(seed=7))

    alerts = [a for a in outcome.alerts if a["metric"] == "contact_volume"]
    assert [a["status"] for a in alerts] == ["open", "resolved"]
    opened, resolved = alerts
    assert (opened["channel"], opened["metric"], opened["touchpoint"]) == ("chat", "contact_volume", None)
    assert opened["direction"] == "down"
    # The drop begins with window 40, i.e. at event time 40 * 60 = 2400, and is seen
    # when that window closes, at its end (2460).
    assert opened["start_epoch"] == STEADY * SIZE
    assert opened["detected_at_epoch"] == (STEADY + 1) * SIZE
    assert opened["observed"] < 50 and opened["expected"] > 80
    # resolve_after = 2: the second normal window after the drop (window 44) resolves it.
    assert resolved["alert_id"] == opened["alert_id"]
    assert resolved["resolved_at"] == "1970-01-01T00:45:00Z"  # end of window 44: 45 * 60 s


def test_steady_series_raises_no_alert():
    rng = random.Random(11)
    counts = contacts_per_window(rng, [100.0] * 60)
    engine = make_engine(make_settings())
    outcome = feed(engine, 0, [window_events(rng, "chat", i, n) for i, n in enumerate(counts)])
    # 60 windows fed, lateness 0: the last one is still open.
    assert len([r for r in outcome.results if r.series.metric == "contact_volume"]) == 59
    assert outcome.alerts == []


def test_every_closed_window_is_judged_per_series():
    engine = make_engine(make_settings())
    rng = random.Random(3)
    outcome = feed(engine, 0, [window_events(rng, "chat", i, 5) for i in range(4)])
    # Windows 0-2 closed (window 3 is open); each reports both metrics.
    assert [w.index for w in outcome.closed] == [0, 1, 2]
    assert len(outcome.results) == 3 * 2
    counts = [r.observed for r in outcome.results if r.series.metric == "contact_volume"]
    assert counts == [5.0, 5.0, 5.0]
    assert outcome.accepted == 20


def test_ratio_without_denominator_has_no_verdict_and_no_alert():
    engine = make_engine(make_settings())
    rng = random.Random(5)
    # Only resolutions, no contacts: the ratio has no denominator in any window.
    batches = [window_events(rng, "chat", i, 3, type="resolved") for i in range(3)]
    outcome = feed(engine, 0, batches)
    rates = [r for r in outcome.results if r.series.metric == "resolution_rate"]
    assert len(rates) == 2
    assert all(r.observed is None and r.verdict is None and r.sample_size == 0 for r in rates)
    assert "chat/resolution_rate" not in engine.detectors
    assert outcome.alerts == []


# --- silent channels -------------------------------------------------------------


def test_silent_channel_windows_close_on_another_channels_watermark():
    by_partition = channels_by_partition(2)
    p = next(q for q, names in by_partition.items() if len(names) >= 2)
    busy, silent = by_partition[p][:2]
    (elsewhere,) = by_partition[1 - p][:1]
    assert partition_for(busy, 2) == partition_for(silent, 2) != partition_for(elsewhere, 2)

    engine = make_engine(make_settings(partitions=2))
    rng = random.Random(9)
    # Windows 0-4: all three channels talk; windows 5-9: only `busy` does.
    for i in range(5):
        both = window_events(rng, busy, i, 4) + window_events(rng, silent, i, 3)
        feed(engine, p, [sorted(both, key=lambda e: e.ts)])
        feed(engine, 1 - p, [window_events(rng, elsewhere, i, 2)])
    outcome = feed(engine, p, [window_events(rng, busy, i, 4) for i in range(5, 10)])

    # Lateness 0: the busy channel's events in window 9 close windows up to 8, for
    # both channels of the partition; window 4 was still open before.
    silent_closed = [w for w in outcome.closed if w.channel == silent]
    assert [w.index for w in silent_closed] == [4, 5, 6, 7, 8]
    assert silent_closed[0].counts["contact_volume"] == [3]
    assert all(w.counts == {"contact_volume": [0], "resolution_rate": [0, 0]} for w in silent_closed[1:])
    silent_counts = [r.observed for r in outcome.results if r.series.id == f"{silent}/contact_volume"]
    assert silent_counts == [3.0, 0.0, 0.0, 0.0, 0.0]
    # The other partition's clock did not move: its channel is still open at window 4.
    assert all(w.channel != elsewhere for w in outcome.closed)
    assert engine.windows[elsewhere]["next_close"] == 4


# --- idle partitions ----------------------------------------------------------------


def one_contact_per_window(windows: int, channel: str = "chat") -> list[list[TouchpointEvent]]:
    # One event in the middle of each window: at 30, 90, 150, ...
    return [
        [TouchpointEvent(event_id=f"{channel}-{i}", ts=i * SIZE + 30, channel=channel, type="contact")]
        for i in range(windows)
    ]


def test_close_due_with_idle_clock_closes_windows_without_events():
    engine = make_engine(make_settings(lateness=0.0, idle=30.0))
    outcome = feed(engine, 0, one_contact_per_window(5))
    # Last event at 270 (wall 270 + offset): window i closes at watermark
    # (i + 1) * 60, so windows 0-3 are closed and window 4 needs 300.
    assert [w.index for w in outcome.closed] == [0, 1, 2, 3]
    last_wall = 270.0 + WALL_OFFSET

    # 29 s of silence: not idle yet, nothing moves.
    assert engine.close_due(0, last_wall + 29).closed == []
    # 30 s: the watermark is 270 + 30 = 300, and window 4 closes.
    assert [w.index for w in engine.close_due(0, last_wall + 30).closed] == [4]
    # 150 s: watermark 420 closes windows 5 (needs 360) and 6 (needs 420).
    later = engine.close_due(0, last_wall + 150)
    assert [w.index for w in later.closed] == [5, 6]
    # Neither saw an event, yet both close and report zero contacts.
    assert all(w.counts == {"contact_volume": [0], "resolution_rate": [0, 0]} for w in later.closed)
    assert [r.observed for r in later.results if r.series.metric == "contact_volume"] == [0.0, 0.0]
    # Asking again at the same wall time closes nothing more.
    assert engine.close_due(0, last_wall + 150).closed == []


def test_idle_close_respects_allowed_lateness():
    engine = make_engine(make_settings(lateness=60.0, idle=30.0))
    feed(engine, 0, one_contact_per_window(5))
    last_wall = 270.0 + WALL_OFFSET
    # With lateness 60, window 3 ([180, 240)) needs watermark 300 (270 + 30 s idle)
    # and window 5 ([300, 360)) needs 420 (270 + 150 s).
    assert [w.index for w in engine.close_due(0, last_wall + 30).closed] == [3]
    assert [w.index for w in engine.close_due(0, last_wall + 149).closed] == [4]
    assert [w.index for w in engine.close_due(0, last_wall + 150).closed] == [5]


def test_fresh_engine_reports_no_window_before_the_first_event():
    engine = make_engine(make_settings(lateness=60.0))
    outcome = feed(engine, 0, one_contact_per_window(5))
    # The first event is at 30, in window 0: window -1 ([-60, 0)) precedes every
    # event the engine ever saw, so there is nothing to report for it.
    assert [w.index for w in outcome.closed] == [0, 1, 2]


def test_restarted_engine_seeds_its_clock_from_the_stored_watermark_and_closes_when_idle():
    settings = make_settings(lateness=60.0, idle=30.0)
    state = ({}, {}, {}, {})
    feed(make_engine(settings, state), 0, one_contact_per_window(5))  # closed through window 2
    assert state[3] == {"0": 270.0}
    restarted = make_engine(settings, state)
    wall = 5_000_000.0  # unrelated to the old wall clock: the seed starts idleness anew
    # Seeded at watermark 270 (the newest event time): nothing more is due yet.
    assert restarted.close_due(0, wall).closed == []
    assert restarted.close_due(0, wall + 29).closed == []
    assert [w.index for w in restarted.close_due(0, wall + 30).closed] == [3]


def test_restarted_engine_without_a_stored_watermark_starts_its_clock_at_the_first_event():
    settings = make_settings(lateness=60.0, idle=30.0)
    state = ({}, {}, {}, {})
    feed(make_engine(settings, state), 0, one_contact_per_window(5))
    restarted = make_engine(settings, (*state[:3], {}))
    assert restarted.close_due(0, 5_000_000.0).closed == []  # no clock: nothing closes on idleness
    first = restarted.absorb(0, [event(330.0, "next")], 5_000_001.0)
    assert first.accepted == 1 and [w.index for w in first.closed] == [3]  # watermark 330
    assert [w.index for w in restarted.close_due(0, 5_000_031.0).closed] == [4]  # idle: on by the wall clock


def test_close_due_on_unknown_partition_does_nothing():
    engine = make_engine(make_settings())
    outcome = engine.close_due(0, WALL_OFFSET)
    assert outcome.closed == [] and outcome.alerts == []


# --- late events ----------------------------------------------------------------------


def event(ts: float, event_id: str, channel: str = "chat") -> TouchpointEvent:
    return TouchpointEvent(event_id=event_id, ts=ts, channel=channel, type="contact")


def test_late_events_are_returned_and_not_counted():
    engine = make_engine(make_settings(lateness=0.0))
    first = engine.absorb(0, [event(10.0, "a"), event(20.0, "b")], WALL_OFFSET + 20)
    assert first.accepted == 2 and first.late == []
    # 130 is in window 2: the watermark 130 lets windows 0 and 1 close (lateness 0),
    # so 50 (window 0, closed) and 100 (window 1, closable) are late, in the same batch.
    late_batch = [event(130.0, "c"), event(50.0, "late-0"), event(100.0, "late-1"), event(125.0, "d")]
    outcome = engine.absorb(0, late_batch, WALL_OFFSET + 130)
    assert [e.event_id for e in outcome.late] == ["late-0", "late-1"]
    assert outcome.accepted == 2
    window0, window1 = outcome.closed
    assert window0.counts["contact_volume"] == [2]  # a and b only
    assert window1.counts["contact_volume"] == [0]


def test_event_within_allowed_lateness_is_accepted():
    engine = make_engine(make_settings(lateness=60.0))
    engine.absorb(0, [event(130.0, "new")], WALL_OFFSET + 130)
    # Window 1 ([60, 120)) may close at watermark 180; at 130 it still takes events.
    outcome = engine.absorb(0, [event(70.0, "old")], WALL_OFFSET + 131)
    assert outcome.late == [] and outcome.accepted == 1


# --- determinism and state ---------------------------------------------------------------


def two_channel_outage(seed: int) -> list[list[TouchpointEvent]]:
    rng = random.Random(seed)
    batches = []
    for i, lam in enumerate(RATES + [100.0]):
        mixed = window_events(rng, "chat", i, poisson(rng, lam)) + window_events(
            rng, "phone", i, poisson(rng, 50.0)
        )
        mixed += window_events(rng, "phone", i, poisson(rng, 10.0), type="resolved")
        batches.append(sorted(mixed, key=lambda e: e.ts))
    return batches


def test_replay_into_fresh_engine_gives_the_same_alerts():
    batches = two_channel_outage(seed=21)
    first = feed(make_engine(make_settings()), 0, batches)
    second = feed(make_engine(make_settings()), 0, batches)
    assert any(a["status"] == "open" for a in first.alerts)  # there is something to compare
    assert first.alerts == second.alerts
    assert [(r.series, r.start, r.observed, r.verdict) for r in first.results] == [
        (r.series, r.start, r.observed, r.verdict) for r in second.results
    ]


def test_restart_mid_stream_continues_exactly_where_it_stopped():
    batches = two_channel_outage(seed=22)
    straight = feed(make_engine(make_settings()), 0, batches)

    # Stop after 41 batches and continue with a fresh engine on the stored state,
    # its state passed through JSON as a changelog would.
    state = ({}, {}, {})
    before = feed(make_engine(make_settings(), state), 0, batches[:41])
    restored = tuple(orjson.loads(orjson.dumps(m)) for m in state)
    after = feed(make_engine(make_settings(), restored), 0, batches[41:])

    assert straight.alerts != []
    assert before.alerts + after.alerts == straight.alerts


def test_detector_state_is_kept_packed_and_state_written_unpacked_still_restores():
    batches = two_channel_outage(seed=24)
    straight = feed(make_engine(make_settings()), 0, batches)

    state = ({}, {}, {})
    before = feed(make_engine(make_settings(), state), 0, batches[:41])
    detectors = state[1]
    assert detectors and all(isinstance(v, str) for v in detectors.values())
    # As a worker of an earlier version wrote it: each detector state a plain dict.
    unpacked = {k: unpack_detector_state(v) for k, v in detectors.items()}
    after = feed(make_engine(make_settings(), (state[0], unpacked, state[2])), 0, batches[41:])

    assert straight.alerts != []
    assert before.alerts + after.alerts == straight.alerts


def test_state_maps_hold_only_json_able_values():
    settings = make_settings(lateness=60.0)
    state = ({}, {}, {})
    engine = make_engine(settings, state)
    outcome = feed(engine, 0, two_channel_outage(seed=23))
    engine.close_due(0, 10_000_000.0)  # idle: close everything
    assert outcome.alerts != []
    windows, detectors, alerts = state
    assert set(windows) == {"chat", "phone"}
    assert {"chat/contact_volume", "phone/contact_volume", "phone/resolution_rate"} <= set(detectors)
    for mapping in state:
        for key, value in mapping.items():
            assert isinstance(key, str)
            # A round trip that changes nothing: no pickles, no NaN/inf turned into null.
            assert orjson.loads(orjson.dumps(value)) == value


def test_alert_records_are_json_able():
    outcome = feed(make_engine(make_settings()), 0, outage_batches(seed=7))
    assert outcome.alerts
    for record in outcome.alerts:
        assert orjson.loads(orjson.dumps(record)) == record


def test_discovered_channels_past_the_cap_are_turned_away_but_configured_ones_are_not():
    from streams.engine import Engine
    from streams.partitioning import partition_for
    from streams.settings import KohtaSettings

    settings = KohtaSettings(
        channels=["chat"],
        max_discovered_channels=2,
        topics={"partitions": 1},
        metrics=[{"name": "contacts", "kind": "count", "where": {"type": ["contact"]}, "by_touchpoint": True}],
    )
    engine = Engine(settings, windows={}, detectors={}, alerts={})
    assert partition_for("anything", 1) == 0
    events = [
        TouchpointEvent(event_id=f"e{i}", ts=1_000.0 + i, channel=name, type="contact")
        for i, name in enumerate(["new_a", "new_b", "new_c", "chat", "new_a"])
    ]
    outcome = engine.absorb(0, events, 0.0)
    # With one partition the whole cap (2) is its share: new_c is the third discovered.
    assert [e.channel for e in outcome.overflow] == ["new_c"]
    assert sorted(engine.windows) == ["chat", "new_a", "new_b"]
    assert outcome.accepted == 4


def test_touchpoints_past_the_cap_are_counted_as_other():
    from streams.engine import Engine
    from streams.settings import KohtaSettings

    settings = KohtaSettings(
        max_touchpoints_per_channel=2,
        topics={"partitions": 1},
        metrics=[{"name": "contacts", "kind": "count", "where": {"type": ["contact"]}, "by_touchpoint": True}],
    )
    engine = Engine(settings, windows={}, detectors={}, alerts={})
    events = [
        TouchpointEvent(event_id=f"e{i}", ts=1_000.0 + i, channel="chat", type="contact", touchpoint=tp)
        for i, tp in enumerate(["billing", "delivery", "returns", "login", "billing"])
    ]
    engine.absorb(0, events, 0.0)
    (counts,) = engine.windows["chat"]["open"].values()
    # billing and delivery fill the cap; returns and login both go to other.
    assert counts == {"contacts": [5], "contacts@billing": [2], "contacts@delivery": [1], "contacts@other": [2]}
    assert engine.windows["chat"]["touchpoint_overflow"] == 2


def test_absorbing_a_batch_of_messages_equals_absorbing_them_one_by_one():
    """The worker absorbs the messages of a batch together and closes once; the state,
    the outcome counts and the alert records (in order) are those of one at a time."""
    settings = make_settings(partitions=1, lateness=30.0)
    rng = random.Random(5)
    messages: list[tuple[tuple[str, int], list[TouchpointEvent]]] = []
    for index in range(40):
        n = 3 if index in (30, 31, 32) else poisson(rng, 30)  # a drop that alerts
        events = window_events(rng, "chat", index, n) + window_events(rng, "phone", index, poisson(rng, 20))
        events.sort(key=lambda e: e.ts)
        for event in events:
            messages.append((("t:0", len(messages)), [event]))
    # A copy of an earlier event, and a redelivered message.
    messages.append((("t:0", len(messages)), [messages[-5][1][0]]))
    messages.append(messages[-3])

    one_by_one, batched = make_engine(settings), make_engine(settings)
    single = Outcome()
    for source, events in messages:
        single.extend(one_by_one.absorb(0, events, events[0].ts + WALL_OFFSET, source))
    together = Outcome()
    for start in range(0, len(messages), 97):
        chunk = messages[start:start + 97]
        together.extend(batched.absorb_parcels(0, chunk, chunk[-1][1][0].ts + WALL_OFFSET))

    assert single.alerts, "the scenario must alert for the comparison to mean something"
    assert together.alerts == single.alerts
    assert (together.accepted, len(together.duplicates), len(together.replayed), len(together.late)) == (
        single.accepted, len(single.duplicates), len(single.replayed), len(single.late))
    assert len(single.duplicates) == 1 and len(single.replayed) == 1
    assert (batched.windows, batched.detectors, batched.alerts) == (
        one_by_one.windows, one_by_one.detectors, one_by_one.alerts)


def test_open_alerts_are_indexed_as_they_open_and_resolve_and_rebuilt_from_state():
    settings = make_settings(partitions=1)
    engine = make_engine(settings)
    rng = random.Random(9)
    rates = [30.0] * 30 + [2.0] * 3 + [30.0] * 6
    opened_during_drop = None
    for index, lam in enumerate(rates):
        events = window_events(rng, "chat", index, poisson(rng, lam))
        feed(engine, 0, [events, [TouchpointEvent(f"tick-{index}", (index + 1) * SIZE + 1, "phone", "x")]])
        if index == 32:
            opened_during_drop = orjson.loads(orjson.dumps(engine.judge.open_alerts))  # a copy
    assert "chat/contact_volume" in opened_during_drop
    assert engine.judge.open_alerts == {}  # resolved after the drop
    engine.judge.open_alerts = {"stale": {}}
    engine.judge.reindex_open_alerts()
    assert engine.judge.open_alerts == {}
    engine.alerts["chat/contact_volume"] = opened_during_drop["chat/contact_volume"]
    engine.judge.reindex_open_alerts()
    assert list(engine.judge.open_alerts) == ["chat/contact_volume"]


def test_a_channel_whose_first_record_a_crash_cut_off_is_not_judged_late_on_redelivery():
    # A flush writes one record per channel, then the watermark; a SIGKILL can land
    # after chat's record and before phone's first. On the redelivery phone's events
    # are new, and must be judged against the watermark they were first absorbed
    # under, not against chat's newer events.
    settings = make_settings(lateness=60.0)
    rng = random.Random(5)
    early = [window_events(rng, "chat", i, 5) for i in range(2)]
    mixed = [sorted(window_events(rng, "chat", i, 5) + window_events(rng, "phone", i, 5), key=lambda e: e.ts)
             for i in range(2, 8)]
    state: tuple[dict, ...] = ({}, {}, {}, {})
    engine = make_engine(settings, state)

    def absorb(target: Engine, batch: list[TouchpointEvent], first: int) -> Outcome:
        wall = max(e.ts for e in batch) + WALL_OFFSET
        return target.absorb_parcels(0, [(("touchpoints:0", first + k), [e]) for k, e in enumerate(batch)], wall)

    offset = 0
    for batch in early:
        absorb(engine, batch, offset)
        offset += len(batch)
    flushed = orjson.loads(orjson.dumps(state))  # a complete flush: the log as a restart reads it
    redelivered_from = offset
    for batch in mixed:
        assert absorb(engine, batch, offset).late == []
        offset += len(batch)
    # The cut flush: chat's newer record made it, phone's first did not, nor the watermark.
    windows, detectors, alerts, watermarks = flushed
    windows["chat"] = orjson.loads(orjson.dumps(state[0]["chat"]))
    assert "phone" not in windows
    restarted = make_engine(settings, (windows, detectors, alerts, watermarks))
    offset, late, accepted = redelivered_from, [], 0
    for batch in mixed:
        outcome = absorb(restarted, batch, offset)
        late += outcome.late
        accepted += outcome.accepted
        offset += len(batch)
    assert late == []
    assert accepted == sum(e.channel == "phone" for batch in mixed for e in batch)


def _absorb_each(engine: Engine, batch: list[TouchpointEvent], first_offset: int) -> Outcome:
    wall = max(e.ts for e in batch) + WALL_OFFSET
    return engine.absorb_parcels(0, [(("touchpoints:0", first_offset + k), [e]) for k, e in enumerate(batch)], wall)


def test_copies_after_a_restart_are_duplicates_of_events_in_stored_fingerprint_chunks():
    settings = make_settings(lateness=600.0)
    rng = random.Random(8)
    batch = window_events(rng, "chat", 3, 300)
    state: tuple[dict, ...] = ({}, {}, {}, {}, {})
    engine = make_engine(settings, state)
    # Two runs: the first's 250 fingerprints go to one chunk record, the second's 50 stay a tail.
    assert _absorb_each(engine, batch[:250], 0).accepted + _absorb_each(engine, batch[250:], 250).accepted == 300
    assert [len(chunk) for chunk in state[4].values()] == [250] and len(state[0]["chat"]["fp"]["3"][1]) == 50
    restarted = make_engine(settings, orjson.loads(orjson.dumps(state)))
    # The same events again, as new messages (copies from a producer, not a replay).
    again = _absorb_each(restarted, batch, 300)
    assert (again.accepted, len(again.duplicates)) == (0, 300)


def test_fingerprints_a_cut_flush_left_past_the_windows_record_do_not_drop_the_redelivered_events():
    # Chunks are flushed before the windows record: a SIGKILL between them leaves
    # chunks holding fingerprints of events the stored windows never counted. When
    # those events come again they must be counted, not taken for copies.
    settings = make_settings(lateness=600.0)
    rng = random.Random(9)
    first, second = window_events(rng, "chat", 3, 120), window_events(rng, "chat", 4, 10)
    second = [e._replace(ts=e.ts - SIZE) for e in second]  # the same window as the first
    state: tuple[dict, ...] = ({}, {}, {}, {}, {})
    engine = make_engine(settings, state)
    _absorb_each(engine, first, 0)
    flushed = orjson.loads(orjson.dumps(state))
    _absorb_each(engine, second, 120)
    assert sorted(state[4]) == ["chat/3/0"]  # the tail filled: a chunk of 128
    windows, detectors, alerts, watermarks, _ = flushed
    cut = (windows, detectors, alerts, watermarks, orjson.loads(orjson.dumps(state[4])))  # chunks newer
    restarted = make_engine(settings, cut)
    redelivered = _absorb_each(restarted, second, 120)
    assert (redelivered.accepted, redelivered.duplicates) == (10, [])
    assert _absorb_each(restarted, second, 130).accepted == 0  # and copies after that are still copies


def test_closing_a_window_deletes_its_fingerprint_chunks():
    settings = make_settings(lateness=60.0)
    rng = random.Random(10)
    state: tuple[dict, ...] = ({}, {}, {}, {}, {})
    engine = make_engine(settings, state)
    first = window_events(rng, "chat", 3, 300)
    _absorb_each(engine, first[:150], 0)  # each run's 150 fingerprints: a chunk record
    _absorb_each(engine, first[150:], 150)
    assert sorted(state[4]) == ["chat/3/0", "chat/3/1"]
    _absorb_each(engine, window_events(rng, "chat", 5, 200), 300)  # the watermark passes 3's close
    assert sorted(state[4]) == ["chat/5/0"]
    assert list(state[0]["chat"]["fp"]) == ["5"]


def test_fingerprints_an_earlier_version_kept_in_the_windows_record_still_recognise_copies():
    settings = make_settings(lateness=600.0)
    rng = random.Random(11)
    batch = window_events(rng, "chat", 3, 20)
    state: tuple[dict, ...] = ({}, {}, {}, {}, {})
    _absorb_each(make_engine(settings, state), batch, 0)
    windows = orjson.loads(orjson.dumps(state[0]))
    # As that version stored it: the list inside the record, no chunks, no count.
    windows["chat"]["seen"] = {"3": fp.stored(state[4], "chat", 3, windows["chat"].pop("fp")["3"])}
    restarted = make_engine(settings, (windows, *orjson.loads(orjson.dumps(state[1:4])), {}))
    assert _absorb_each(restarted, batch, 20).accepted == 0


class _CountingMap(dict):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def __setitem__(self, key, value) -> None:
        self.writes += 1
        super().__setitem__(key, value)


def test_the_watermark_is_stored_when_the_windows_it_lets_close_change_not_at_every_batch():
    settings = make_settings(lateness=0.0)
    watermarks = _CountingMap()
    engine = make_engine(settings, ({}, {}, {}, watermarks))
    rng = random.Random(12)
    for index in (3, 4, 5):  # ten batches in each of three windows
        events = window_events(rng, "chat", index, 10)
        for k, e in enumerate(events):
            engine.absorb(0, [e], e.ts + WALL_OFFSET, source=("touchpoints:0", index * 10 + k))
    # A write when the clock first lets a window close (index 4 lets 2 close), then one
    # per window boundary crossed: not one per batch.
    assert watermarks.writes == 3
    assert float(watermarks["0"]) >= 5 * SIZE
