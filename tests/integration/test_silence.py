"""A channel that goes silent still closes its windows and is scored: the wall-clock
tick closes them when no event arrives to move the watermark."""

from __future__ import annotations

import math
import time

import orjson
import pytest

from tests.integration.kafka_helpers import TopicReader, produce

pytestmark = pytest.mark.integration

SIZE = 5.0


def test_silent_channel_raises_a_drop_alert_without_any_new_event(broker, start_worker):
    def fast_windows(config):
        config["windows"] = {"size_seconds": SIZE, "allowed_lateness_seconds": 2,
                             "idle_timeout_seconds": 2, "tick_interval_seconds": 0.5}

    worker = start_worker(fast_windows)
    topics = worker.settings["topics"]
    start = math.floor((time.time() - 22 * SIZE) / SIZE) * SIZE
    events = [
        {"event_id": f"s-{w}-{i}", "ts": start + w * SIZE + i * SIZE / 50, "channel": "chat", "type": "contact"}
        for w in range(20)
        for i in range(50)
    ]
    produce(broker.bootstrap, topics["touchpoints"], [(b"chat", orjson.dumps(e)) for e in events])
    last_event = events[-1]["ts"]

    alerts = TopicReader(broker.bootstrap, topics["alerts"])
    records = alerts.wait_for(
        lambda rs: any(orjson.loads(r.value)["series"] == "chat/contact_volume" for r in rs), timeout=60
    )
    alert = next(orjson.loads(r.value) for r in records if orjson.loads(r.value)["series"] == "chat/contact_volume")
    assert alert["status"] == "open"
    assert alert["direction"] == "down"
    assert alert["observed"] == 0
    # It was raised for a window after the last event: only the clock could close it.
    assert alert["start_epoch"] >= start + 20 * SIZE > last_event
    alerts.close()
