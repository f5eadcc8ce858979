"""Resident memory per series of a kohta worker.

A worker with ``metrics`` count metrics on every channel (one event type each)
first sees a few warm-up channels, so that every code path (windows, detectors,
alert policy, Prometheus gauges, changelog writes) has run; its VmRSS is then the
"before". Then ``channels`` new channels send one event of every type per window
for ``DATA_WINDOWS`` windows. The last window's events push each partition's
watermark far enough to close all but the newest ``OPEN_WINDOWS`` windows, which
is the steady state of a live worker (60-s windows, 120-s allowed lateness). When
the windows changelog shows every channel closed through that window, the
worker's VmRSS is the "after". Series are counted exactly: the distinct keys of
the detectors changelog (one detector per series).
"""

from __future__ import annotations

import math
import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from kafka import KafkaConsumer, TopicPartition

from streams.partitioning import partition_for

SIZE = 60.0
LATENESS = 120.0
DATA_WINDOWS = 8
OPEN_WINDOWS = 3
WARM_CHANNELS = 4


def metric_specs(count: int) -> list[dict[str, Any]]:
    return [
        {"name": f"m{i}", "kind": "count", "where": {"type": [f"t{i}"]}, "bad_direction": "both"}
        for i in range(count)
    ]


def warm_channels(partitions: int) -> list[str]:
    """One warm-up channel per partition: they also push each partition's watermark."""
    chosen: dict[int, str] = {}
    i = 0
    while len(chosen) < partitions:
        name = f"warm{i}"
        chosen.setdefault(partition_for(name, partitions), name)
        i += 1
    return [chosen[p] for p in range(partitions)]


def envelopes(channels: list[str], metrics: int, first_window: int, windows: int, tag: str) -> list[tuple[bytes, bytes]]:
    """Per channel and window, one envelope with one event of every type, mid-window."""
    out = []
    for w in range(first_window, first_window + windows):
        for channel in channels:
            ts = w * SIZE + 30.0
            batch = [
                {"event_id": f"{tag}-{channel}-{w}-{i}", "ts": ts + i * 0.01, "channel": channel, "type": f"t{i}"}
                for i in range(metrics)
            ]
            out.append((channel.encode(), orjson.dumps(batch)))
    return out


def pushers(channels: list[str], window: int, tag: str) -> list[tuple[bytes, bytes]]:
    """One event per partition at the end of ``window``: everything up to ``window - OPEN_WINDOWS`` closes."""
    ts = (window + 1) * SIZE - 0.5
    return [
        (c.encode(), orjson.dumps({"event_id": f"{tag}-push-{c}", "ts": ts, "channel": c, "type": "t0"}))
        for c in channels
    ]


def last_closed(window: int) -> int:
    """The newest window closed once the watermark reaches the end of ``window``."""
    return math.floor(((window + 1) * SIZE - 0.5 - LATENESS) / SIZE) - 1


class ChangelogWatch:
    """The latest value of every key of a table's changelog topic that starts with
    ``prefix`` (one kind of state in kohta's state table), keyed without it."""

    def __init__(self, bootstrap: str, topic: str, prefix: str = "") -> None:
        self.consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        self.topic, self.prefix = topic, prefix
        self.latest: dict[str, Any] = {}
        self._assigned = False

    def _assign(self) -> bool:
        parts = self.consumer.partitions_for_topic(self.topic)
        if not parts:
            return False
        self.consumer.assign([TopicPartition(self.topic, p) for p in sorted(parts)])
        self.consumer.seek_to_beginning()
        self._assigned = True
        return True

    def poll(self) -> dict[str, Any]:
        if not self._assigned and not self._assign():
            time.sleep(0.3)
            return self.latest
        for records in self.consumer.poll(timeout_ms=300).values():
            for r in records:
                key = orjson.loads(r.key)
                if key.startswith(self.prefix):
                    self.latest[key[len(self.prefix):]] = orjson.loads(r.value) if r.value else None
        return self.latest

    def close(self) -> None:
        self.consumer.close()


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")


def settled_rss(read: Callable[[], int], seconds: float = 3.0) -> int:
    """Median VmRSS (KiB) over a few seconds of an idle worker."""
    samples = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        samples.append(read())
        time.sleep(0.25)
    return int(statistics.median(samples))


def heap_totals(path: Path, timeout: float = 10.0, trim: bool = False) -> dict[str, float]:
    """Ask the worker (benchmarks/_profiled_worker.py, heap mode) for its heap totals
    (after ``malloc_trim(0)`` with ``trim``)."""
    trigger = path.with_name(path.name + (".trim" if trim else ".trigger"))
    seen = path.read_text().count("\n") if path.exists() else 0
    trigger.touch()
    deadline = time.monotonic() + timeout
    while trigger.exists() or (path.read_text().count("\n") if path.exists() else 0) <= seen:
        if time.monotonic() > deadline:
            return {}
        time.sleep(0.1)
    line = path.read_text().splitlines()[-1]
    found = re.search(r"VmRSS ([0-9.]+) MiB.*in use ([0-9.]+) MiB, free in heap ([0-9.]+) MiB.*"
                      r"python: ([0-9]+) allocated blocks", line)
    if found is None:
        return {}
    return {"rss_mib": float(found[1]), "glibc_in_use_mib": float(found[2]), "glibc_free_mib": float(found[3]),
            "py_blocks": int(found[4])}


@dataclass
class MemoryResult:
    channels: int
    series_before: int
    series_after: int
    rss_before_kib: int
    rss_after_kib: int
    heap_before: dict[str, float] = field(default_factory=dict)
    heap_after: dict[str, float] = field(default_factory=dict)
    heap_trimmed: dict[str, float] = field(default_factory=dict)  # what-if: after malloc_trim(0)

    @property
    def trimmed_bytes_per_series(self) -> float | None:
        if "rss_mib" not in self.heap_trimmed:
            return None
        return (self.heap_trimmed["rss_mib"] * 1024 - self.rss_before_kib) * 1024 / max(self.series, 1)

    def heap_growth_per_series(self, key: str) -> float | None:
        if key not in self.heap_before or key not in self.heap_after:
            return None
        scale = 2**20 if key.endswith("_mib") else 1
        return (self.heap_after[key] - self.heap_before[key]) * scale / max(self.series, 1)

    @property
    def series(self) -> int:
        return self.series_after - self.series_before

    @property
    def bytes_per_series(self) -> float:
        return (self.rss_after_kib - self.rss_before_kib) * 1024 / max(self.series, 1)
