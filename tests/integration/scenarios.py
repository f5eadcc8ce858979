"""Event streams with a known incident, as upstream producers would send them."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Iterator

import orjson

WINDOW = 60.0


def aligned_past(days: float = 2.0) -> float:
    """A window-aligned event time some days back: old enough never to be 'in the future'."""
    return math.floor((time.time() - days * 86400) / WINDOW) * WINDOW


def webshop_windows(
    start: float, windows: int, *, visits: int, rate: float, seed: int, outage: range = range(0)
) -> Iterator[dict]:
    """Visits and conversions per window; conversion collapses to 0.5 % during ``outage``."""
    rng = random.Random(seed)
    for w in range(windows):
        base = start + w * WINDOW
        p = 0.005 if w in outage else rate
        for i in range(visits):
            ts = base + (i + 0.5) * WINDOW / visits
            yield {"event_id": f"v-{w}-{i}", "ts": ts, "channel": "webshop", "type": "visit",
                   "customer_id": f"c{rng.randrange(10**6)}"}
            if rng.random() < p:
                yield {"event_id": f"c-{w}-{i}", "ts": ts + 0.01, "channel": "webshop",
                       "type": "conversion", "touchpoint": "checkout"}


def as_batches(events: Iterator[dict], size: int, key: bytes | None) -> Iterator[tuple[bytes | None, bytes]]:
    batch: list[dict] = []
    for event in events:
        batch.append(event)
        if len(batch) == size:
            yield key, orjson.dumps(batch)
            batch = []
    if batch:
        yield key, orjson.dumps(batch)


def as_singles(events: Iterator[dict], key: bytes | None) -> Iterator[tuple[bytes | None, bytes]]:
    for event in events:
        yield key, orjson.dumps(event)
