"""kohta's worker with different producer lingers, runs interleaved on one broker.

The machine's speed drifts by tens of per cent within minutes, so settings are
compared round by round (each round runs every linger once, in turn) rather than
across invocations. Each run is ``throughput.py``'s kohta run: the worker reads
pre-produced events from the start; events/s over the timed interval.

    python benchmarks/producer_ab.py [--lingers 0,2,5] [--rounds 2] [--events 60000] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import _harness as h
import throughput as t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lingers", default="0,2,5", help="producer.linger_ms values, comma-separated")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of envelope runs")
    parser.add_argument("--events", type=int, default=60_000, help="single-event messages (envelopes carry 3x)")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    lingers = [float(x) for x in args.lingers.split(",")]
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
            for linger in lingers:
                run = t.run_kohta(ctx, "bench.envelopes", len(envelopes), len(events),
                                  f"envelopes, linger {linger:g} ms", producer={"linger_ms": linger})
                print(f"round {round_}: envelopes, linger {linger:g} ms: {run.rate:,.0f} events/s ({run.note})",
                      flush=True)
        for linger in lingers:
            run = t.run_kohta(ctx, "bench.singles", len(singles), args.events,
                              f"singles, linger {linger:g} ms", producer={"linger_ms": linger})
            print(f"single events, linger {linger:g} ms: {run.rate:,.0f} events/s ({run.note})", flush=True)
    finally:
        broker.stop()


if __name__ == "__main__":
    main()
