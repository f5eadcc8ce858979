"""kohta's worker with different producer settings, runs interleaved on one broker.

The machine's speed drifts by tens of per cent within minutes, so settings are
compared round by round (each round runs every variant once, in turn) rather than
across invocations. Each run is ``throughput.py``'s kohta run: the worker reads
pre-produced events from the start; events/s over the timed interval. A variant is
a set of ``producer.*`` settings, e.g. ``linger_ms=0`` or ``max_batch_bytes=1,linger_ms=0``;
a key with a dot names another section's setting, e.g. ``windows.fingerprint_chunk=512``.

    python benchmarks/producer_ab.py [--variants "linger_ms=0;linger_ms=2;linger_ms=5"]
        [--rounds 2] [--singles] [--events 60000] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import _harness as h
import throughput as t


def variant(text: str) -> dict[str, float]:
    """``"max_batch_bytes=1,linger_ms=0"`` → ``{"max_batch_bytes": 1.0, "linger_ms": 0.0}``."""
    pairs = (item.split("=", 1) for item in text.split(",") if item.strip())
    return {key.strip(): float(value) for key, value in pairs}


def overrides(settings: dict[str, float]) -> dict[str, dict[str, float]]:
    """Config sections to override: ``{"linger_ms": 5, "windows.fingerprint_chunk": 512}``
    → ``{"producer": {"linger_ms": 5}, "windows": {"fingerprint_chunk": 512}}``."""
    sections: dict[str, dict[str, float]] = {}
    for key, value in settings.items():
        section, _, name = key.rpartition(".")
        sections.setdefault(section or "producer", {})[name] = int(value) if value.is_integer() else value
    return sections


def shown(settings: dict[str, float]) -> str:
    return ", ".join(f"{key} {value:g}" for key, value in settings.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", default="linger_ms=0;linger_ms=2;linger_ms=5",
                        help="settings per variant: key=value pairs joined by ',' (producer.* unless the key "
                             "names its section, e.g. windows.fingerprint_chunk), variants by ';'")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of envelope runs")
    parser.add_argument("--singles", action="store_true", help="also one run of each variant on single events")
    parser.add_argument("--events", type=int, default=60_000, help="single-event messages (envelopes carry 3x)")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    variants = [variant(text) for text in args.variants.split(";")]
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="kohta-producer-ab-"))
    workdir.mkdir(parents=True, exist_ok=True)
    broker = h.start_broker(workdir)
    ctx = t.Context(workdir, broker)
    try:
        events = h.realistic_events(args.events * t.ENVELOPE_FACTOR)
        singles, envelopes = h.as_singles(events[:args.events]), h.as_envelopes(events, t.ENVELOPE)
        h.create_topics(broker.bootstrap, {"bench.singles": t.PARTITIONS, "bench.envelopes": t.PARTITIONS})
        h.produce(broker.bootstrap, "bench.singles", singles)
        h.produce(broker.bootstrap, "bench.envelopes", envelopes)
        for round_ in range(1, args.rounds + 1):
            for settings in variants:
                run = t.run_kohta(ctx, "bench.envelopes", len(envelopes), len(events),
                                  f"envelopes, {shown(settings)}", **overrides(settings))
                print(f"round {round_}: envelopes, {shown(settings)}: {run.rate:,.0f} events/s ({run.note.strip()})",
                      flush=True)
        for settings in variants if args.singles else ():
            run = t.run_kohta(ctx, "bench.singles", len(singles), args.events,
                              f"singles, {shown(settings)}", **overrides(settings))
            print(f"single events, {shown(settings)}: {run.rate:,.0f} events/s ({run.note.strip()})", flush=True)
    finally:
        broker.stop()


if __name__ == "__main__":
    main()
