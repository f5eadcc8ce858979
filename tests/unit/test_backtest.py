"""The backtest replays a file through the worker's own code path."""

from __future__ import annotations

import math
import random

import orjson

from streams.backtest import Backtest
from streams.report import SeriesRecorder, write_report
from streams.settings import KohtaSettings

WINDOW = 60.0


def settings() -> KohtaSettings:
    return KohtaSettings(
        topics={"partitions": 2},
        windows={"size_seconds": WINDOW, "allowed_lateness_seconds": 60, "idle_timeout_seconds": 30},
        detector={"model": "level", "threshold": 4.0, "warmup": 8, "fading_factor": 0.1},
        metrics=[
            {"name": "conversion_rate", "kind": "ratio", "numerator": {"type": ["conversion"]},
             "denominator": {"type": ["visit"]}, "channels": ["webshop"], "bad_direction": "down"},
        ],
    )


def webshop_lines(start: float, windows: int, outage: range) -> list[bytes]:
    rng = random.Random(3)
    lines = []
    for w in range(windows):
        rate = 0.005 if w in outage else 0.08
        for i in range(400):
            ts = start + w * WINDOW + (i + 0.5) * WINDOW / 400
            lines.append(orjson.dumps({"event_id": f"v{w}-{i}", "ts": ts, "channel": "webshop", "type": "visit"}))
            if rng.random() < rate:
                lines.append(orjson.dumps(
                    {"event_id": f"c{w}-{i}", "ts": ts, "channel": "webshop", "type": "conversion"}))
    return lines


def test_backtest_finds_the_outage_and_counts_what_it_read(tmp_path):
    start = math.floor(1_790_000_000 / WINDOW) * WINDOW
    lines = webshop_lines(start, 33, range(20, 25))
    lines += [b"{broken", b'{"event_id":"x","ts":1,"channel":"webshop","type":"visit"}']  # bad, late-ish
    alerts: list[dict] = []
    recorder = SeriesRecorder()
    runner = Backtest(settings(), on_alert=alerts.append, on_result=recorder)
    summary = runner.run(iter(lines))

    assert [(a["series"], a["status"]) for a in alerts] == [
        ("webshop/conversion_rate", "open"), ("webshop/conversion_rate", "resolved")]
    assert alerts[0]["start_epoch"] == start + 20 * WINDOW
    assert summary.lines == len(lines)
    assert summary.rejected["invalid_json"] == 1
    assert summary.rejected["invalid_timestamp"] == 1  # ts=1 is before 2000
    assert summary.accepted == summary.events == len(lines) - 2
    # 33 windows of data; the last ones stay open until the watermark passes them.
    assert 29 <= summary.windows_closed <= 33

    report = tmp_path / "report.html"
    write_report(report, recorder, alerts, summary.to_dict())
    page = report.read_text()
    assert "webshop/conversion_rate" in page and "<svg" in page and "<polygon" in page


def test_replaying_the_same_file_gives_the_same_alerts():
    start = math.floor(1_790_000_000 / WINDOW) * WINDOW
    lines = webshop_lines(start, 30, range(15, 18))
    first: list[dict] = []
    second: list[dict] = []
    Backtest(settings(), on_alert=first.append).run(iter(lines))
    Backtest(settings(), on_alert=second.append).run(iter(lines))
    assert first == second and first


def test_batch_envelopes_and_single_events_decide_alike():
    start = math.floor(1_790_000_000 / WINDOW) * WINDOW
    singles = webshop_lines(start, 30, range(15, 18))
    events = [orjson.loads(line) for line in singles]
    batches = [orjson.dumps(events[i : i + 100]) for i in range(0, len(events), 100)]
    from_singles: list[dict] = []
    from_batches: list[dict] = []
    Backtest(settings(), on_alert=from_singles.append).run(iter(singles))
    Backtest(settings(), on_alert=from_batches.append).run(iter(batches))
    assert from_singles == from_batches


def test_copies_of_an_event_count_once():
    start = math.floor(1_790_000_000 / WINDOW) * WINDOW
    lines = webshop_lines(start, 12, range(0))
    copies = [line for line in lines for _ in range(3)]  # every event sent three times
    once, thrice = Backtest(settings(), on_alert=lambda r: None), Backtest(settings(), on_alert=lambda r: None)
    first, second = once.run(iter(lines)), thrice.run(iter(copies))
    assert second.accepted == first.accepted
    assert second.duplicates == 2 * len(lines)
    assert once.engine.detectors == thrice.engine.detectors  # the detectors learned the same windows
