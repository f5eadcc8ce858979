"""What the Faust agent does with each message: decode, route, process, send.

The agent hands every message here. Per-key state goes through the engine into
Faust tables; this class holds no per-key state of its own.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson
from faust.types import TopicT
from faust.types.tuples import Message

from streams import internal
from streams.engine import Engine, Outcome
from streams.holes import HoleWatch
from streams.memory import HeapTrimmer
from streams.events import TouchpointEvent
from streams.settings import KohtaSettings
from streams.telemetry import PipelineTelemetry
from streams.changelog import StateTable
from streams.control import parse_control
from streams.validation import EventRejected, decode_message

log = logging.getLogger(__name__)

REASON_LATE = "late"
REASON_OVERFLOW = "channel_overflow"
REASON_INTERNAL = "invalid_internal"
REASON_FAILED = "processing_failed"


class Parcel(NamedTuple):
    """The events one message brings to the partition that owns them."""

    partition: int
    origin: internal.Origin
    events: list[TouchpointEvent]
    whole: bytes | None  # the message value, when it is one event that may need dead-lettering
    wall_now: float
    message: Message


class PendingRuns:
    """Parcels not yet absorbed, one run per partition, each in arrival order.

    Faust interleaves the partitions' messages in a batch (one from each in turn,
    often), so runs of consecutive messages would hold about one message each. The
    engine keeps each partition's state apart, so only the order within a partition
    matters, and a run per partition keeps it.
    """

    def __init__(self) -> None:
        self._runs: dict[int, list[Parcel]] = {}

    def add(self, parcel: Parcel) -> None:
        run = self._runs.get(parcel.partition)
        if run is None:
            self._runs[parcel.partition] = [parcel]
        else:
            run.append(parcel)

    def take(self) -> list[tuple[int, list[Parcel]]]:
        """The runs, partitions in order of their first parcel; leaves none pending."""
        runs, self._runs = list(self._runs.items()), {}
        return runs


@dataclass(frozen=True, slots=True)
class Sinks:
    alert_events: TopicT
    dead_letter: TopicT
    repartition: TopicT


class Processor:
    def __init__(
        self,
        settings: KohtaSettings,
        engine: Engine,
        telemetry: PipelineTelemetry,
        sinks: Sinks,
        tables: Sequence[StateTable] = (),
        holes: HoleWatch | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.telemetry = telemetry
        self.sinks = sinks
        self.tables = tables
        self.holes = holes  # None: offsets taken as they come (unit tests' fakes)
        self._repartition_topic = settings.topics.repartition
        self._alerts_in_flight: list[Awaitable[Any]] = []  # this batch's, until delivered
        self._heap = HeapTrimmer()
        self._source_names: dict[tuple[str, int], str] = {}  # "topic:partition", made once
        self._limits = {
            "max_message_bytes": settings.max_message_bytes,
            "max_batch_events": settings.max_batch_events,
            "max_future_seconds": settings.max_future_seconds,
        }

    async def handle_batch(self, messages: Sequence[Message]) -> None:
        """Process a batch in order, then write each changed key's changelog once.

        Each message is decoded and routed on its own (:meth:`handle`); the events of
        the batch's messages of one partition are absorbed together (in their order),
        and the windows they make due are closed once, so the per-message cost stays
        small. Ticks and control commands first absorb what came before them. The caller acks the
        messages only after this returns (flush before commit).
        """
        pending = PendingRuns()
        read: Counter[str] = Counter()
        holes = self.holes.batch() if self.holes is not None else None
        for message in messages:
            if holes is not None and holes.sets_aside(message):
                continue
            read[message.topic] += 1
            if message.topic == self._repartition_topic:
                # A tick or a command acts on the partition as it stands after every
                # message before it; the rarer forwarded events just end the runs.
                await self._absorb_pending(pending)
            try:
                parcel = await self.handle(message)
            except Exception as exc:  # noqa: BLE001 - any failure is this message's, not the stream's
                await self._failed(message, exc)
                continue
            if parcel is not None:
                pending.add(parcel)
        await self._absorb_pending(pending)
        for topic, count in read.items():
            self.telemetry.messages.labels(topic=topic).inc(count)
        self.telemetry.batch_messages.observe(len(messages))
        if self._alerts_in_flight:
            # The alert state that records an alert as sent must not reach the log
            # before the alert does (they go to different partitions).
            in_flight, self._alerts_in_flight = self._alerts_in_flight, []
            await asyncio.gather(*in_flight)
        for table in self.tables:
            self.telemetry.changelog_records.inc(table.flush())
        if holes is not None:
            await holes.read_again()
        self._heap.maybe_trim()  # after the flush, when the batch's garbage is gone

    async def _absorb_pending(self, pending: PendingRuns) -> None:
        for partition, parcels in pending.take():
            await self._absorb_or_dead_letter(partition, parcels)

    async def _absorb_or_dead_letter(self, partition: int, parcels: list[Parcel]) -> None:
        try:
            await self._absorb(partition, parcels)
        except Exception as exc:  # noqa: BLE001 - a bug must not stop the partition
            # Which message broke it is not known, and part of the run may have been
            # counted: every message of the run is kept as processing_failed.
            for parcel in parcels:
                await self._failed(parcel.message, exc)

    async def _failed(self, message: Message, exc: Exception) -> None:
        # Faust acks the whole batch even when its body raises, so a message that
        # breaks processing is dead-lettered here rather than silently committed.
        # Only the exception's type is recorded: its text may quote the input.
        log.error("message %s:%s@%s failed: %s", message.topic, message.partition,
                  message.offset, type(exc).__name__)
        origin = internal.Origin(message.topic, message.partition, message.offset)
        await self._dead_letter(message.value or b"", REASON_FAILED, type(exc).__name__, origin, None)

    async def handle(self, message: Message) -> Parcel | None:
        """Decode and route one message; returns the events its partition is to absorb."""
        wall_now = time.time()
        origin = internal.Origin(message.topic, message.partition, message.offset)
        if message.topic == self._repartition_topic:
            try:
                payload = internal.decode(message.value)
            except (ValueError, TypeError, KeyError):
                # Not one of ours (a stray producer, another version mid-deploy): kept
                # and counted like any bad input, never allowed to stop the partition.
                await self._dead_letter(message.value or b"", REASON_INTERNAL, "not a kohta internal message",
                                        origin, None)
                return None
            if isinstance(payload, internal.Control):
                self.engine.apply_control(payload.command)
                return None
            if isinstance(payload, internal.Tick):
                await self._emit(self.engine.close_due(message.partition, wall_now), wall_now)
                self._record_partition(message.partition, wall_now)
                self.telemetry.record_open_alerts(self.engine.judge.open_alerts.values())
                return None
            return Parcel(message.partition, payload.origin, payload.events, None, wall_now, message)
        decoded = decode_message(message.value, now=wall_now, **self._limits)
        for rejection in decoded.rejections:
            await self._dead_letter(rejection.raw, rejection.reason, rejection.detail, origin, rejection.index)
        owner, partition = self.engine.owner, message.partition
        # An envelope's events are usually of one channel: ask who owns each channel
        # once rather than each event.
        foreign_channels = {c for c in {event.channel for event in decoded.events} if owner(c) != partition}
        if not foreign_channels:
            local = decoded.events
        else:
            local = []
            foreign: dict[str, list[TouchpointEvent]] = defaultdict(list)
            for event in decoded.events:
                if event.channel in foreign_channels:
                    foreign[event.channel].append(event)
                else:
                    local.append(event)
            for channel, events in foreign.items():
                await self._forward(channel, events, origin)
        if not local:
            return None
        # A lone event that turns out late goes to the dead letters exactly as it came.
        whole = message.value if len(local) == 1 and len(decoded.events) == 1 and not decoded.rejections else None
        return Parcel(partition, origin, local, whole, wall_now, message)

    async def _absorb(self, partition: int, parcels: list[Parcel]) -> None:
        """Absorb a run of parcels of one partition, then close what is due."""
        names = self._source_names
        sources = []
        for p in parcels:
            topic_partition = (p.origin.topic, p.origin.partition)
            name = names.get(topic_partition)
            if name is None:
                name = names[topic_partition] = f"{p.origin.topic}:{p.origin.partition}"
            sources.append(((name, p.origin.offset), p.events))
        wall_now = parcels[-1].wall_now
        outcome = self.engine.absorb_parcels(partition, sources, wall_now)
        whole = {id(p.events[0]): p.whole for p in parcels if p.whole is not None}
        events_metric, label = self.telemetry.events, self.telemetry.channel
        for outcome_name, skipped in (("replayed", outcome.replayed), ("duplicate", outcome.duplicates)):
            # Already counted: a redelivery after a restart, or a copy of an event.
            for event in skipped:
                events_metric.labels(channel=label(event.channel), outcome=outcome_name).inc()
        for event in outcome.overflow:
            raw = whole.get(id(event)) or orjson.dumps(event.to_json_dict())
            await self._dead_letter(raw, REASON_OVERFLOW, "channel cap reached (max_discovered_channels)",
                                    self._origin_of(parcels, event), None)
        for event in outcome.late:
            events_metric.labels(channel=label(event.channel), outcome="late").inc()
            raw = whole.get(id(event)) or orjson.dumps(event.to_json_dict())
            await self._dead_letter(raw, REASON_LATE, "event time is behind the window close",
                                    self._origin_of(parcels, event), None)
        for channel, count in outcome.accepted_by_channel.items():
            events_metric.labels(channel=label(channel), outcome="accepted").inc(count)
        await self._emit(outcome, wall_now)

    @staticmethod
    def _origin_of(parcels: list[Parcel], event: TouchpointEvent) -> internal.Origin:
        # Only for the rare rejected event: a scan beats indexing every event.
        return next(p.origin for p in parcels if any(e is event for e in p.events))

    async def _forward(self, channel: str, events: list[TouchpointEvent], origin: internal.Origin) -> None:
        await self.sinks.repartition.send(
            key=channel.encode(),
            value=internal.encode_forward(origin, events),
            partition=self.engine.owner(channel),
        )
        self.telemetry.events.labels(channel=self.telemetry.channel(channel), outcome="forwarded").inc(
            len(events)
        )

    async def _dead_letter(
        self, raw: bytes, reason: str, detail: str, origin: internal.Origin, index: int | None
    ) -> None:
        headers: list[tuple[str, bytes]] = [
            ("kohta-reason", reason.encode()),
            ("kohta-detail", detail.encode()),
            ("kohta-source-topic", origin.topic.encode()),
            ("kohta-source-partition", str(origin.partition).encode()),
            ("kohta-source-offset", str(origin.offset).encode()),
        ]
        if index is not None:
            headers.append(("kohta-batch-index", str(index).encode()))
        limit = self.settings.max_message_bytes
        if len(raw) > limit:
            # Kept whole, it could not be produced (nor would most brokers take it):
            # its head goes to the dead letters, with its full size, so it is still seen.
            headers.append(("kohta-truncated-from", str(len(raw)).encode()))
            raw = raw[:limit]
        await self.sinks.dead_letter.send(value=raw, headers=headers)
        self.telemetry.rejected.labels(reason=reason).inc()
        if reason != REASON_LATE:  # late events are counted under their own channel
            self.telemetry.events.labels(channel="invalid", outcome="rejected").inc()

    async def _emit(self, outcome: Outcome, wall_now: float) -> None:
        if outcome.closed:
            self._heap.expect()
        for window in outcome.closed:
            self.telemetry.close_lag.observe(max(0.0, wall_now - window.end))
        for result in outcome.results:
            self.telemetry.record_result(result)
        for record in outcome.alerts:
            # On to incident grouping (one partition), then to the alerts topic.
            self._alerts_in_flight.append(await self.sinks.alert_events.send(
                key=record["series"].encode(), value=orjson.dumps(record), partition=0
            ))
        if outcome.alerts:
            self.telemetry.record_open_alerts(self.engine.judge.open_alerts.values())

    async def handle_control(self, message: Message) -> None:
        """A command from the control topic, validated, then sent to its channel's partition."""
        origin = internal.Origin(message.topic, message.partition, message.offset)
        try:
            command = parse_control(message.value)
        except EventRejected as rejected:
            await self._dead_letter(message.value or b"", rejected.reason, rejected.detail, origin, None)
            return
        await self.sinks.repartition.send(
            key=command.channel.encode(),
            value=internal.encode_control(command),
            partition=self.engine.owner(command.channel),
        )

    def _record_partition(self, partition: int, wall_now: float) -> None:
        watermark: Any = self.engine.clocks.watermark(partition, wall_now)
        if watermark is not None:
            self.telemetry.watermark.labels(partition=str(partition)).set(watermark)
