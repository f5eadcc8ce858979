"""A message whose processing raises is dead-lettered; the rest of its batch goes on."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from prometheus_client import CollectorRegistry

from streams.engine import Engine
from streams.processor import Processor, Sinks
from streams.settings import KohtaSettings
from streams.telemetry import PipelineTelemetry


class RecordingTopic:
    def __init__(self) -> None:
        self.sent: list[dict] = []

    async def send(self, **kwargs) -> None:
        self.sent.append(kwargs)


def test_a_failing_message_goes_to_the_dead_letters_and_the_batch_continues():
    settings = KohtaSettings(topics={"partitions": 1})
    engine = Engine(settings, windows={}, detectors={}, alerts={})
    registry = CollectorRegistry()
    telemetry = PipelineTelemetry(registry, channels=[], max_discovered_channels=5)
    sinks = Sinks(alert_events=RecordingTopic(), dead_letter=RecordingTopic(), repartition=RecordingTopic())
    processor = Processor(settings, engine, telemetry, sinks)
    handled: list[int] = []

    async def handle(message) -> None:
        if message.offset == 1:
            raise RuntimeError("a bug, quoting CANARY-PII-1")
        handled.append(message.offset)

    processor.handle = handle  # the per-message step, failing for one message
    messages = [SimpleNamespace(topic="kohta.touchpoints", partition=0, offset=i, value=b"{}") for i in range(3)]
    asyncio.run(processor.handle_batch(messages))

    assert handled == [0, 2]
    (dead,) = sinks.dead_letter.sent
    headers = dict(dead["headers"])
    assert headers["kohta-reason"] == b"processing_failed"
    assert headers["kohta-source-offset"] == b"1"
    assert headers["kohta-detail"] == b"RuntimeError"  # the type only: its text may quote input
    assert registry.get_sample_value("kohta_dead_letters_total", {"reason": "processing_failed"}) == 1


def _processor(partitions: int = 2):
    settings = KohtaSettings(topics={"partitions": partitions}, channels=["chat", "phone", "webshop"])
    engine = Engine(settings, windows={}, detectors={}, alerts={})
    registry = CollectorRegistry()
    telemetry = PipelineTelemetry(registry, channels=settings.channels, max_discovered_channels=5)
    sinks = Sinks(alert_events=RecordingTopic(), dead_letter=RecordingTopic(), repartition=RecordingTopic())
    return Processor(settings, engine, telemetry, sinks), engine, registry, sinks


def _message(partition: int, offset: int, event: dict):
    import orjson

    return SimpleNamespace(topic="kohta.touchpoints", partition=partition, offset=offset,
                           value=orjson.dumps(event))


def test_a_lone_event_on_the_wrong_partition_is_forwarded_not_absorbed_there():
    processor, engine, registry, sinks = _processor()
    event = {"event_id": "e1", "ts": 1_700_000_000.0, "channel": "chat", "type": "contact"}
    wrong = 1 - engine.owner("chat")
    asyncio.run(processor.handle_batch([_message(wrong, 0, event)]))
    (forward,) = sinks.repartition.sent
    assert forward["partition"] == engine.owner("chat") and not sinks.dead_letter.sent
    assert registry.get_sample_value("kohta_events_total", {"channel": "chat", "outcome": "forwarded"}) == 1
    assert "chat" not in engine.windows


def test_when_absorbing_a_run_raises_its_messages_go_to_the_dead_letters_and_the_batch_goes_on():
    processor, engine, registry, sinks = _processor(partitions=1)
    events = [{"event_id": f"e{i}", "ts": 1_700_000_000.0 + i, "channel": "chat", "type": "contact"}
              for i in range(3)]
    calls = []

    def absorb_parcels(partition, parcels, wall_now):
        calls.append(len(parcels))
        raise ValueError("a bug")

    engine.absorb_parcels = absorb_parcels
    asyncio.run(processor.handle_batch([_message(0, i, e) for i, e in enumerate(events)]))
    assert calls == [3]  # one run for the three messages of the partition
    offsets = [dict(d["headers"])["kohta-source-offset"] for d in sinks.dead_letter.sent]
    assert offsets == [b"0", b"1", b"2"]
    assert registry.get_sample_value("kohta_dead_letters_total", {"reason": "processing_failed"}) == 3


def test_interleaved_partitions_are_absorbed_in_one_run_each_in_their_own_order():
    # Faust hands a batch over with the partitions' messages interleaved; runs of
    # consecutive messages would absorb (and close) about once per message.
    processor, engine, registry, sinks = _processor(partitions=2)
    by_partition: dict[int, str] = {}
    for channel in ("chat", "phone", "webshop"):
        by_partition.setdefault(engine.owner(channel), channel)
    assert len(by_partition) == 2, "the test needs a channel on each partition"
    messages = []
    for i in range(6):
        partition = i % 2
        event = {"event_id": f"e{i}", "ts": 1_700_000_000.0 + i, "channel": by_partition[partition], "type": "contact"}
        messages.append(_message(partition, i // 2, event))
    calls = []
    absorb = engine.absorb_parcels

    def recording(partition, parcels, wall_now):
        parcels = list(parcels)
        calls.append((partition, [source[1] for source, _ in parcels]))
        return absorb(partition, parcels, wall_now)

    engine.absorb_parcels = recording
    asyncio.run(processor.handle_batch(messages))
    assert calls == [(0, [0, 1, 2]), (1, [0, 1, 2])]
    for partition, channel in by_partition.items():
        assert registry.get_sample_value("kohta_events_total", {"channel": channel, "outcome": "accepted"}) == 3
        assert engine.windows[channel]["offsets"] == {f"kohta.touchpoints:{partition}": 2}
    assert not sinks.dead_letter.sent
    assert registry.get_sample_value("kohta_batch_messages_count") == 1
    assert registry.get_sample_value("kohta_batch_messages_sum") == 6
