"""Live traffic with injected spikes, and the latency from a window's close to its alert.

The harness produces events stamped with the wall clock (``ts`` = the moment of the
send call) for ``channels`` synthetic channels at a steady rate. After a warm-up each
channel has a spike window (``spike_factor`` times its rate) every ``period`` windows,
staggered across channels: the spike opens an alert and, two normal windows later,
the alert resolves. Both records are samples.

Latency of one alert record, in seconds: the wall time its record arrives on the
alerts topic (read by an aiokafka consumer in this process) minus the wall time of
the send call of the message that pushed the watermark of the alert's partition
past the window's close deadline, i.e. the first message produced to that
partition with ``ts >= window end + allowed lateness``. That message is the one
whose processing closes the window; the gap between the deadline itself and that
message is reported apart (it is the traffic's inter-arrival time).
"""

from __future__ import annotations

import asyncio
import bisect
import time
from collections import defaultdict
from dataclasses import dataclass, field

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from streams.partitioning import partition_for


@dataclass
class LiveResult:
    sent: int = 0
    samples: list[float] = field(default_factory=list)  # push message produced -> alert arrived
    # The same path cut in two: push message produced -> record on the alert-events topic
    # (the detector stage's output), and from there -> record on the alerts topic.
    first_hop: list[float] = field(default_factory=list)
    second_hop: list[float] = field(default_factory=list)
    from_deadline: list[float] = field(default_factory=list)  # deadline (wall) -> alert arrived
    statuses: dict[str, int] = field(default_factory=dict)
    unmatched: int = 0
    # Per sample, for looking at when the slow ones came: (push message produced at,
    # channel, status, total, first hop or None).
    timeline: list[tuple[float, str, str, float, float | None]] = field(default_factory=list)


def channel_names(count: int, partitions: int) -> list[str]:
    """``count`` channel names spread evenly over the partitions."""
    per: dict[int, list[str]] = defaultdict(list)
    i = 0
    want = -(-count // partitions)
    while sum(len(v) for v in per.values()) < count:
        name = f"live{i:03d}"
        p = partition_for(name, partitions)
        if len(per[p]) < want:
            per[p].append(name)
        i += 1
    return sorted(n for v in per.values() for n in v)[:count]


async def run_live(
    bootstrap: str,
    touchpoints: str,
    alerts: str,
    alert_events: str,
    *,
    partitions: int,
    channels: list[str],
    rate_per_channel: float,
    duration: float,
    size: float,
    lateness: float,
    warmup_windows: int,
    period: int = 5,
    spike_factor: float = 4.0,
    drain_seconds: float = 4.0,
) -> LiveResult:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0, acks=1)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=10)
    await producer.start()
    await consumer.start()
    result = LiveResult()
    arrivals: list[tuple[float, dict]] = []
    staged: dict[tuple[str, str], float] = {}
    sent_ts: dict[int, list[float]] = defaultdict(list)
    stop = asyncio.Event()

    async def read_alerts() -> None:
        assigned = [TopicPartition(alerts, p) for p in sorted(consumer.partitions_for_topic(alerts) or {0})]
        assigned += [TopicPartition(alert_events, p) for p in sorted(consumer.partitions_for_topic(alert_events) or {0})]
        consumer.assign(assigned)
        await consumer.seek_to_end()
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=20)
            now = time.time()
            for tp, records in batches.items():
                for r in records:
                    record = orjson.loads(r.value)
                    if tp.topic == alerts:
                        arrivals.append((now, record))
                    else:
                        staged.setdefault((record.get("alert_id"), record.get("status")), now)

    reader = asyncio.create_task(read_alerts())
    await asyncio.sleep(0.5)  # the reader is positioned before the first event
    owner = {c: partition_for(c, partitions) for c in channels}
    began = time.time()
    first_window = int(began // size)
    spikes_from = first_window + warmup_windows
    budget = {c: 0.0 for c in channels}
    last = began
    seq = 0
    try:
        while time.time() - began < duration:
            await asyncio.sleep(0.005)
            now = time.time()
            window = int(now // size)
            dt, last = now - last, now
            for i, channel in enumerate(channels):
                spiking = window >= spikes_from and (window - spikes_from + i) % period == 0
                budget[channel] += dt * rate_per_channel * (spike_factor if spiking else 1.0)
                n = int(budget[channel])
                budget[channel] -= n
                for _ in range(n):
                    ts = time.time()
                    seq += 1
                    event = {"event_id": f"live-{seq}", "ts": ts, "channel": channel, "type": "visit",
                             "touchpoint": "home", "customer_id": f"c{100000 + seq % 900000}"}
                    partition = owner[channel]
                    await producer.send(touchpoints, orjson.dumps(event), key=channel.encode(), partition=partition)
                    sent_ts[partition].append(ts)
                    result.sent += 1
        await producer.flush()
        await asyncio.sleep(drain_seconds)
    finally:
        stop.set()
        await reader
        await producer.stop()
        await consumer.stop()

    for arrived, record in arrivals:
        status = record.get("status")
        result.statuses[status] = result.statuses.get(status, 0) + 1
        end = record.get("resolved_at_epoch") if status == "resolved" else record.get("detected_at_epoch")
        if status not in ("open", "resolved") or end is None:
            continue
        deadline = end + lateness
        stamps = sent_ts[partition_for(record["channel"], partitions)]
        at = bisect.bisect_left(stamps, deadline)
        if at == len(stamps):
            result.unmatched += 1  # closed by the idle clock after the traffic stopped
            continue
        result.samples.append(arrived - stamps[at])
        result.from_deadline.append(arrived - deadline)
        middle = staged.get((record.get("alert_id"), status))
        if middle is not None:
            result.first_hop.append(middle - stamps[at])
            result.second_hop.append(arrived - middle)
        result.timeline.append((stamps[at], record["channel"], status, arrived - stamps[at],
                                None if middle is None else middle - stamps[at]))
    return result


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


async def broker_round_trip(bootstrap: str, topic: str, partitions: int, *, fetch_max_wait_ms: int,
                            seconds: float = 3.0, interval: float = 0.005) -> list[float]:
    """Produce -> consume delays of a bare aiokafka pair on this broker, one message per ``interval``.

    With ``fetch_max_wait_ms=1500`` (the value Faust's aiokafka driver hard-codes) this is
    what one Kafka hop inside a Faust app costs here, before any processing.
    """
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0, acks=1)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                fetch_max_wait_ms=fetch_max_wait_ms)
    await producer.start()
    await consumer.start()
    delays: list[float] = []
    stop = asyncio.Event()
    try:
        consumer.assign([TopicPartition(topic, p) for p in range(partitions)])
        await consumer.seek_to_end()

        async def read() -> None:
            while not stop.is_set():
                batches = await consumer.getmany(timeout_ms=50)
                now = time.time()
                delays.extend(now - float(r.value) for records in batches.values() for r in records)

        reader = asyncio.create_task(read())
        await asyncio.sleep(0.3)
        for i in range(int(seconds / interval)):
            await producer.send(topic, str(time.time()).encode(), partition=i % partitions)
            await asyncio.sleep(interval)
        await asyncio.sleep(2.0)
        stop.set()
        await reader
    finally:
        await producer.stop()
        await consumer.stop()
    return delays
