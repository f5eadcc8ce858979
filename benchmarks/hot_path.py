"""kohta's own cost per message, without Kafka or Faust.

Drives ``streams.processor.Processor.handle_batch`` (decode, validate, route,
window, measure, detect, alert policy, telemetry) over the same simulator events as
``benchmarks/throughput.py``, with kohta's state table over a dict whose changelog
only serialises records (and counts them), and sinks that only count what they are
sent. What is left when kohta runs in the worker is Faust's
own per-message path and the producer; this isolates the part kohta can change.

    python benchmarks/hot_path.py [--events 200000] [--batch 500] [--envelope 100] [--profile]

Prints microseconds per message and events per second for single-event messages
and for batch envelopes (one CPU, wall time of the loop).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import sys
import time
from pathlib import Path
from typing import Any

import orjson
from faust.types.tuples import Message
from prometheus_client import CollectorRegistry

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks._harness import as_envelopes, as_singles, realistic_events  # noqa: E402
from streams.changelog import STATE_LAYOUT, StateTable  # noqa: E402
from streams.engine import Engine  # noqa: E402
from streams.partitioning import partition_for, state_key_partition  # noqa: E402
from streams.processor import Processor, Sinks  # noqa: E402
from streams.settings import load_settings  # noqa: E402
from streams.telemetry import PipelineTelemetry  # noqa: E402

TOPIC = "bench.touchpoints"


class CountingSink:
    """Stands in for a Faust topic: counts sends, delivers at once."""

    def __init__(self) -> None:
        self.sent = 0

    async def send(self, **_: Any) -> asyncio.Future:
        self.sent += 1
        done = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


class SerializingTable:
    """Stands in for the Faust table under a StateTable: a dict, and a changelog that
    serialises each record as Faust's would (orjson) and counts the bytes."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.records = 0
        self.bytes = 0

    def send_changelog(self, partition: int, key: str, value: Any, value_serializer: str | None = None) -> None:
        self.records += 1
        raw = value if value is None or value_serializer == "raw" else orjson.dumps(value)
        self.bytes += len(orjson.dumps(key)) + (0 if raw is None else len(raw))


def build(partitions: int, fingerprint_chunk: int | None = None) -> Processor:
    windows = {} if fingerprint_chunk is None else {"windows": {"fingerprint_chunk": fingerprint_chunk}}
    settings = load_settings(topics={"touchpoints": TOPIC, "partitions": partitions}, **windows)
    state = StateTable(SerializingTable(), lambda key: state_key_partition(key, partitions), layout=STATE_LAYOUT)
    engine = Engine(settings, windows=state.view("w:"), detectors=state.view("s:", "detector"),
                    alerts=state.view("s:", "alert"), watermarks=state.view("c:"),
                    fingerprints=state.view("f:"))
    telemetry = PipelineTelemetry(
        CollectorRegistry(), channels=settings.channels, max_discovered_channels=settings.max_discovered_channels
    )
    sinks = Sinks(alert_events=CountingSink(), dead_letter=CountingSink(), repartition=CountingSink())
    return Processor(settings, engine, telemetry, sinks, [state])


def as_messages(pairs: list[tuple[bytes, bytes]], partitions: int) -> dict[int, list[Message]]:
    by_partition: dict[int, list[Message]] = {}
    for key, value in pairs:
        partition = partition_for(key.decode(), partitions)
        batch = by_partition.setdefault(partition, [])
        batch.append(Message(TOPIC, partition, len(batch), time.time(), 0, [], key, value, None))
    return by_partition


async def run(processor: Processor, by_partition: dict[int, list[Message]], batch: int) -> float:
    # One message from each partition in turn, in batches: Faust's consumer hands a
    # worker's agent its partitions' messages interleaved like this.
    began = time.perf_counter()
    cursors = {partition: iter(messages) for partition, messages in by_partition.items()}
    chunk: list[Message] = []
    while cursors:
        for partition in list(cursors):
            message = next(cursors[partition], None)
            if message is None:
                del cursors[partition]
                continue
            chunk.append(message)
            if len(chunk) == batch:
                await processor.handle_batch(chunk)
                chunk = []
    if chunk:
        await processor.handle_batch(chunk)
    return time.perf_counter() - began


def measure(label: str, pairs: list[tuple[bytes, bytes]], events: int, args: argparse.Namespace) -> None:
    by_partition = as_messages(pairs, args.partitions)
    processor = build(args.partitions, args.fingerprint_chunk)
    profiler = cProfile.Profile() if args.profile else None
    if profiler:
        profiler.enable()
    seconds = asyncio.run(run(processor, by_partition, args.batch))
    if profiler:
        profiler.disable()
    messages = len(pairs)
    table = processor.tables[0].table
    print(f"{label:<24} {messages:>9,} messages {events:>9,} events  {seconds:6.2f} s  "
          f"{seconds / messages * 1e6:7.1f} µs/message  {events / seconds:>9,.0f} events/s  "
          f"changelog {table.records:,} records, {table.bytes / 1e6:,.1f} MB")
    if profiler:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=500, help="messages per handle_batch (take_events)")
    parser.add_argument("--envelope", type=int, default=100, help="events per batch envelope")
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--fingerprint-chunk", type=int, default=None,
                        help="windows.fingerprint_chunk (default: the config's)")
    parser.add_argument("--only", choices=("singles", "envelopes"), default=None)
    parser.add_argument("--profile", action="store_true", help="cProfile, top functions by self time")
    args = parser.parse_args()
    events = realistic_events(args.events)
    if args.only in (None, "singles"):
        measure("single-event messages", as_singles(events), len(events), args)
    if args.only in (None, "envelopes"):
        measure(f"envelopes of {args.envelope}", as_envelopes(events, args.envelope), len(events), args)


if __name__ == "__main__":
    main()
