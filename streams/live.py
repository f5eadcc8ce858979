"""Producing simulated touchpoint events to Kafka in (compressed) real time.

Event time runs ``speed`` times faster than the wall clock from ``origin``: at
speed 60 one simulated minute, one window by default, passes every wall second.
Messages are keyed by channel, as upstream producers are asked to do.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from kafka import KafkaProducer

from streams.simulation import Incident, generate_events

# Event time is generated a slice at a time so that pacing stays smooth.
_SLICE_EVENT_SECONDS = 5.0


@dataclass(frozen=True)
class Pace:
    origin: float  # event time at wall start
    speed: float   # event seconds per wall second

    def event_time(self, wall_elapsed: float) -> float:
        return self.origin + self.speed * wall_elapsed

    def wall_elapsed(self, event_time: float) -> float:
        return (event_time - self.origin) / self.speed


def _encode(events: list[dict], batch_size: int) -> list[tuple[bytes, bytes]]:
    """(key, value) messages: single events, or per-channel batch envelopes."""
    if batch_size <= 1:
        return [(e["channel"].encode(), orjson.dumps(e)) for e in events]
    by_channel: dict[str, list[dict]] = defaultdict(list)
    for event in events:
        by_channel[event["channel"]].append(event)
    return [
        (channel.encode(), orjson.dumps(group[i : i + batch_size]))
        for channel, group in by_channel.items()
        for i in range(0, len(group), batch_size)
    ]


def run_live(
    bootstrap: str,
    topic: str,
    *,
    pace: Pace,
    duration: float,
    seed: int = 0,
    incidents: Sequence[Incident] = (),
    rate_scale: float = 1.0,
    batch_size: int = 1,
    should_stop: Callable[[], bool] = lambda: False,
    on_progress: Callable[[float, int], None] | None = None,
    client_options: dict[str, Any] | None = None,
) -> int:
    """Produce for ``duration`` wall seconds; returns the number of events sent.

    ``client_options`` go to kafka-python (e.g. ``SecuritySettings.kafka_python()``).
    """
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, acks=1, **(client_options or {}))
    sent = 0
    wall_start = time.monotonic()
    cursor = pace.origin
    end = pace.event_time(duration)
    try:
        while cursor < end and not should_stop():
            upto = min(cursor + _SLICE_EVENT_SECONDS * max(pace.speed / 60, 1), end)
            events = list(
                generate_events(cursor, upto, seed=seed, incidents=incidents, rate_scale=rate_scale)
            )
            # Send a slice once its last event is due.
            due = wall_start + pace.wall_elapsed(upto)
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            for key, value in _encode(events, batch_size):
                producer.send(topic, key=key, value=value)
            sent += len(events)
            cursor = upto
            if on_progress is not None:
                on_progress(cursor, sent)
        producer.flush()
    finally:
        producer.close()
    return sent
