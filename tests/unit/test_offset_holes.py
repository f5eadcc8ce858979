"""A partition whose offsets reach the processor with a hole is read again from the
hole, and nothing past the hole is counted before the hole's message is."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import orjson
from faust.types import TP
from prometheus_client import CollectorRegistry

from streams.continuity import OffsetContinuity
from streams.engine import Engine
from streams.holes import HoleWatch
from streams.processor import Processor, Sinks
from streams.settings import KohtaSettings
from streams.telemetry import PipelineTelemetry
from tests.unit.test_processor_failures import RecordingTopic

TOPIC = "kohta.touchpoints"


def _message(offset: int):
    event = {"event_id": f"e{offset}", "ts": 1_700_000_000.0 + offset, "channel": "chat", "type": "contact"}
    return SimpleNamespace(topic=TOPIC, partition=0, offset=offset, tp=TP(TOPIC, 0), value=orjson.dumps(event))


def _processor():
    settings = KohtaSettings(topics={"partitions": 1}, channels=["chat"])
    engine = Engine(settings, windows={}, detectors={}, alerts={})
    registry = CollectorRegistry()
    telemetry = PipelineTelemetry(registry, channels=settings.channels, max_discovered_channels=5)
    sinks = Sinks(alert_events=RecordingTopic(), dead_letter=RecordingTopic(), repartition=RecordingTopic())
    continuity = OffsetContinuity(retry_seconds=0)
    rereads: list[tuple] = []

    async def reread(tp, offset) -> None:
        rereads.append((tp, offset))

    holes = HoleWatch(continuity, telemetry.offset_holes, reread=reread)
    processor = Processor(settings, engine, telemetry, sinks, holes=holes)
    return processor, continuity, rereads, registry


def _accepted(registry) -> float:
    return registry.get_sample_value("kohta_events_total", {"channel": "chat", "outcome": "accepted"}) or 0


def test_messages_past_a_hole_wait_for_the_hole_to_be_read_again():
    processor, continuity, rereads, registry = _processor()
    continuity.after_seek({(TOPIC, 0): 0})
    asyncio.run(processor.handle_batch([_message(0), _message(1), _message(3), _message(4)]))
    assert rereads == [((TOPIC, 0), 2)]
    assert _accepted(registry) == 2  # 3 and 4 were set aside, not counted past the hole
    assert registry.get_sample_value("kohta_offset_holes_total", {"topic": TOPIC, "outcome": "reread"}) == 2
    # Read again from 2: every event counted once, in order.
    asyncio.run(processor.handle_batch([_message(2), _message(3), _message(4)]))
    assert _accepted(registry) == 5
    assert rereads == [((TOPIC, 0), 2)]


def test_without_the_hole_the_events_past_it_would_be_lost_for_good():
    """Why: once 3 is absorbed, the channel's state marks offsets up to 3 as absorbed,
    so 2 arriving later is taken for a redelivery."""
    processor, continuity, rereads, registry = _processor()
    processor.holes = None  # looking for holes switched off
    asyncio.run(processor.handle_batch([_message(0), _message(1), _message(3)]))
    asyncio.run(processor.handle_batch([_message(2)]))
    assert _accepted(registry) == 3
    assert registry.get_sample_value("kohta_events_total", {"channel": "chat", "outcome": "replayed"}) == 1


def test_a_partition_first_seen_without_a_committed_offset_is_taken_as_it_comes():
    processor, continuity, rereads, registry = _processor()
    asyncio.run(processor.handle_batch([_message(5), _message(6)]))
    assert rereads == [] and _accepted(registry) == 2


def test_a_hole_that_stays_empty_is_let_through_after_the_batch():
    registry = CollectorRegistry()
    telemetry = PipelineTelemetry(registry, channels=["chat"], max_discovered_channels=5)
    calls: list[tuple] = []

    async def reread(tp, offset) -> None:
        calls.append(("reread", tp, offset))

    async def accept_hole(tp, start, end) -> None:
        calls.append(("accept", tp, start, end))

    watch = HoleWatch(OffsetContinuity(max_rereads=2, retry_seconds=0), telemetry.offset_holes, reread, accept_hole)
    watch.continuity.after_seek({(TOPIC, 0): 7})

    def one_batch(offset: int) -> bool:
        batch = watch.batch()
        set_aside = batch.sets_aside(_message(offset))
        asyncio.run(batch.read_again())
        return set_aside

    # 7 and 8 never come (a transaction marker, say): 9 is set aside twice, then taken.
    assert [one_batch(9) for _ in range(3)] == [True, True, False]
    assert calls == [("reread", (TOPIC, 0), 7), ("reread", (TOPIC, 0), 7), ("accept", (TOPIC, 0), 7, 9)]


def test_a_transaction_marker_is_accepted_once_reading_again_brings_back_the_same_jump():
    """Offset 10 is a marker: reading again from it brings 11 back first. Two such
    returns accept it, without waiting out the retry interval; the messages fetched
    before each seek (12, 13) are set aside meanwhile."""
    continuity = OffsetContinuity(retry_seconds=3600, clock=lambda: 0.0)
    continuity.after_seek({"p": 9})
    verdicts = [continuity.check("p", offset)[0] for offset in (9, 11, 12, 13, 11, 12, 11, 12, 13)]
    assert verdicts == ["process", "reread", "set_aside", "set_aside", "reread", "set_aside",
                        "process_past_hole", "process", "process"]


def test_stale_messages_alone_never_accept_a_hole_that_holds_a_record():
    """Faust skipped 167; the messages after it, fetched before the seek, keep arriving.
    They are not the first message past the hole, so they accept nothing."""
    continuity = OffsetContinuity(retry_seconds=3600, clock=lambda: 0.0)
    continuity.after_seek({"p": 167})
    verdicts = [continuity.check("p", offset)[0] for offset in (168, 169, 170, 171, 167, 168, 169)]
    assert verdicts == ["reread", "set_aside", "set_aside", "set_aside", "process", "process", "process"]


def test_a_hole_nothing_comes_from_after_reading_again_is_read_again_from_the_timer():
    """The SIGKILL test's stall: a hole at 161, 162-313 set aside, then nothing more from
    the partition. Only the timer can bring the guard back to it."""
    registry = CollectorRegistry()
    telemetry = PipelineTelemetry(registry, channels=["chat"], max_discovered_channels=5)
    now = [0.0]
    rereads: list[tuple] = []

    async def reread(tp, offset) -> None:
        rereads.append((tp, offset))

    continuity = OffsetContinuity(retry_seconds=1, stale_seconds=10, clock=lambda: now[0])
    watch = HoleWatch(continuity, telemetry.offset_holes, reread)
    tp = TP(TOPIC, 0)  # equal to the messages' (topic, partition); the timer logs its fields
    continuity.after_seek({tp: 161})
    batch = watch.batch()
    assert all(batch.sets_aside(_message(offset)) for offset in range(162, 314))
    asyncio.run(batch.read_again())
    assert rereads == [(tp, 161)]
    now[0] = 9.0
    asyncio.run(watch.read_overdue_again())
    assert rereads == [(tp, 161)]  # not yet stale
    now[0] = 10.0
    asyncio.run(watch.read_overdue_again())
    assert rereads == [(tp, 161), (tp, 161)]
    reread_count = registry.get_sample_value("kohta_offset_holes_total", {"topic": TOPIC, "outcome": "reread"})
    assert reread_count == 153  # 152 set aside in the batch, 1 read again from the timer
    # Read again, 161 comes: the hole is closed, and the timer has nothing more to do.
    assert continuity.check(tp, 161) == ("process", None)
    now[0] = 100.0
    asyncio.run(watch.read_overdue_again())
    assert len(rereads) == 2
