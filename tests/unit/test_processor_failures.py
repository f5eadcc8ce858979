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
