"""CX detection quality and backtest speed, on a simulated multi-week scenario.

Writes a labelled scenario (``kohta simulate --to-file``), replays it through the
worker's code path (``kohta backtest``, default config) and scores the alerts
against the labels (``kohta evaluate``), then prints the figures next to the
targets of issue 3.

    python benchmarks/cx_evaluation.py [--days 14] [--seed 1] [--workdir .kohta/bench]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import orjson

from streams.backtest import Backtest
from streams.evaluation import evaluate
from streams.settings import load_settings
from streams.simulation import write_scenario


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=Path(".kohta/bench"))
    parser.add_argument("--reuse", action="store_true", help="Reuse events.jsonl and labels.json in --workdir.")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)

    events_path, labels_path = args.workdir / "events.jsonl", args.workdir / "labels.json"
    if not (args.reuse and events_path.exists() and labels_path.exists()):
        began = time.perf_counter()
        scenario = write_scenario(args.workdir, days=args.days, seed=args.seed)
        print(f"scenario: {scenario.events:,} events, {scenario.incidents} incidents, "
              f"{scenario.late:,} arriving past the lateness, written in {time.perf_counter() - began:.1f} s")

    alerts: list[dict] = []
    runner = Backtest(load_settings(), on_alert=alerts.append)
    cpu = time.process_time()
    with events_path.open("rb") as source:
        summary = runner.run(source)
    cpu = time.process_time() - cpu
    with (args.workdir / "alerts.jsonl").open("wb") as sink:
        sink.writelines(orjson.dumps(a) + b"\n" for a in alerts)
    print(f"backtest: {summary.events:,} events in {summary.seconds:.1f} s wall = "
          f"{summary.events_per_second:,.0f} events/s; {summary.events / cpu:,.0f} events/s per CPU second "
          f"(one core); {summary.windows_closed:,} windows closed")

    labels = orjson.loads(labels_path.read_bytes())
    report = evaluate(alerts, labels)
    print()
    print(report.render())
    drift = [i for i in report.incidents if i.kind == "nps_drift"]
    drift_ttd = [i.ttd_seconds for i in drift if i.ttd_seconds is not None]
    print()
    print("target                                   measured        goal")
    rows = [
        ("recall", report.recall, ">= 0.95", report.recall is not None and report.recall >= 0.95),
        ("false alerts per channel-day", report.false_alerts_per_channel_day, "<= 0.1",
         report.false_alerts_per_channel_day is not None and report.false_alerts_per_channel_day <= 0.1),
        ("median time to detect, abrupt (min)",
         None if report.abrupt_ttd_median is None else report.abrupt_ttd_median / 60, "<= 5",
         report.abrupt_ttd_median is not None and report.abrupt_ttd_median <= 300),
        ("NPS drift detected within (h)", max(drift_ttd) / 3600 if len(drift_ttd) == len(drift) and drift else None,
         "<= 24", bool(drift) and len(drift_ttd) == len(drift) and max(drift_ttd) <= 86400),
        ("backtest events/s on one core", summary.events / cpu, ">= 50000", summary.events / cpu >= 50_000),
    ]
    for name, value, goal, ok in rows:
        shown = "-" if value is None else f"{value:,.3f}" if value < 100 else f"{value:,.0f}"
        print(f"{name:<40} {shown:<15} {goal:<10} {'PASS' if ok else 'MISS'}")
    if drift_ttd:
        print(f"(nps_drift time to detect: {statistics.median(drift_ttd) / 3600:.1f} h median)")


if __name__ == "__main__":
    main()
