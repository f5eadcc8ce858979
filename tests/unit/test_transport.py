"""The worker's Kafka consumer is made with the configured fetch wait, not Faust's 1,500 ms."""

from __future__ import annotations

import asyncio

from prometheus_client import CollectorRegistry

from streams.app import create_app
from streams.settings import KohtaSettings


def test_the_worker_consumer_uses_the_configured_fetch_wait(tmp_path):
    settings = KohtaSettings(data_dir=tmp_path, consumer={"fetch_max_wait_ms": 42})

    async def build() -> int:
        app = create_app(settings, CollectorRegistry())
        thread = app.consumer._thread
        consumer = thread._create_worker_consumer(app.transport)
        try:
            return consumer._fetch_max_wait_ms
        finally:
            await consumer.stop()

    assert asyncio.run(build()) == 42


def test_the_seek_to_committed_offsets_runs_with_the_flow_stopped(tmp_path, monkeypatch):
    """Records fetched before the seek must not reach the agent while it runs; Faust's
    recovery calls it with the flow running (faust-streaming#216)."""
    from faust.transport.drivers import aiokafka as faust_aiokafka

    seen: list[bool] = []

    async def committed_seek(consumer) -> None:
        seen.append(consumer.flow_active)
        consumer._read_offset["touchpoints-0"] = 167  # where Faust's seek leaves it

    monkeypatch.setattr(faust_aiokafka.Consumer, "perform_seek", committed_seek)

    async def seek(flow_active: bool) -> tuple[bool, tuple]:
        app = create_app(KohtaSettings(data_dir=tmp_path), CollectorRegistry())
        consumer = app.consumer
        consumer.resume_flow() if flow_active else consumer.stop_flow()
        await consumer.perform_seek()
        # The committed offset is due next: 168 first means 167 was skipped.
        return consumer.flow_active, app.offset_continuity.check("touchpoints-0", 168)

    assert asyncio.run(seek(True)) == (True, ("reread", 167))  # flow resumed as it was
    assert asyncio.run(seek(False)) == (False, ("reread", 167))  # left stopped, as it was
    assert seen == [False, False]


def test_reading_a_hole_again_stops_faust_committing_past_it(tmp_path, monkeypatch):
    """Faust takes a jump in the offsets it read for a gap without records and commits
    past it; a hole being read again must hold the commit back until its message is
    processed. Accepting a hole as empty lets commits pass it again."""
    tp = ("kohta.touchpoints", 1)
    seeks: list[tuple] = []

    async def run() -> tuple:
        consumer = create_app(KohtaSettings(data_dir=tmp_path), CollectorRegistry()).consumer

        async def seek(partition, offset) -> None:
            seeks.append((partition, offset, consumer.flow_active))

        monkeypatch.setattr(consumer, "seek", seek)
        consumer.resume_flow()
        consumer._gap[tp].addi(515, 517)  # Faust read 514, then 516
        consumer._acked[tp].extend([514, 516])
        await consumer.reread_from(tp, 515)
        held = consumer._new_offset(tp)
        await consumer.accept_hole(tp, 515, 516)
        consumer._acked[tp].extend([516])
        return held, consumer._new_offset(tp), consumer.flow_active

    held, passed, flow_active = asyncio.run(run())
    assert seeks == [(tp, 515, False)]  # read again with the flow stopped
    assert held == 515  # the commit stops at the hole
    assert passed == 517 and flow_active is True
