"""Messages kohta sends to itself on the repartition topic.

Three kinds: events forwarded to the partition that owns their channel (already
validated, with the coordinates of the message they came in); ticks, which let
a partition close windows on the wall clock when no events arrive; and control
commands (maintenance, feedback), applied in the partition of their channel.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import orjson

from streams.control import ControlCommand, Feedback, Maintenance
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


@dataclass(frozen=True, slots=True)
class Control:
    command: ControlCommand


def encode_control(command: ControlCommand) -> bytes:
    if isinstance(command, Maintenance):
        body = {"maintenance": [command.channel, command.start, command.end, command.reason]}
    else:
        body = {"feedback": [command.series, command.alert_id, command.verdict]}
    return orjson.dumps(body)


def encode_forward(origin: Origin, events: Sequence[TouchpointEvent]) -> bytes:
    return orjson.dumps(
        {
            "origin": [origin.topic, origin.partition, origin.offset],
            "events": [event.to_json_dict() for event in events],
        }
    )


def encode_tick(wall_time: float) -> bytes:
    return orjson.dumps({"tick": wall_time})


def decode(raw: bytes) -> Forwarded | Tick | Control:
    payload = orjson.loads(raw)
    if "tick" in payload:
        return Tick(payload["tick"])
    if "maintenance" in payload:
        return Control(Maintenance(*payload["maintenance"]))
    if "feedback" in payload:
        return Control(Feedback(*payload["feedback"]))
    topic, partition, offset = payload["origin"]
    return Forwarded(
        Origin(topic, partition, offset),
        [TouchpointEvent(**event) for event in payload["events"]],
    )
