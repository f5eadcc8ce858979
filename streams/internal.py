"""Messages kohta sends to itself on the repartition topic.

Two kinds: events forwarded to the partition that owns their channel (already
validated, with the coordinates of the message they came in), and ticks, which
let a partition close windows on the wall clock when no events arrive.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import orjson

from streams.events import TouchpointEvent


@dataclass(frozen=True, slots=True)
class Origin:
    topic: str
    partition: int
    offset: int


@dataclass(frozen=True, slots=True)
class Forwarded:
    origin: Origin
    events: list[TouchpointEvent]


@dataclass(frozen=True, slots=True)
class Tick:
    wall_time: float


def encode_forward(origin: Origin, events: Sequence[TouchpointEvent]) -> bytes:
    return orjson.dumps(
        {
            "origin": [origin.topic, origin.partition, origin.offset],
            "events": [event.to_json_dict() for event in events],
        }
    )


def encode_tick(wall_time: float) -> bytes:
    return orjson.dumps({"tick": wall_time})


def decode(raw: bytes) -> Forwarded | Tick:
    payload = orjson.loads(raw)
    if "tick" in payload:
        return Tick(payload["tick"])
    topic, partition, offset = payload["origin"]
    return Forwarded(
        Origin(topic, partition, offset),
        [TouchpointEvent(**event) for event in payload["events"]],
    )
