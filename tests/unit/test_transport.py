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
