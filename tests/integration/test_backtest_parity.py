"""The backtest decides exactly what the worker decides for the same events."""

from __future__ import annotations

import orjson
import pytest

from streams.backtest import Backtest
from streams.settings import KohtaSettings
from tests.integration.kafka_helpers import TopicReader, produce
from tests.integration.scenarios import WINDOW, aligned_past, webshop_windows

pytestmark = pytest.mark.integration


def test_worker_and_backtest_send_the_same_alert_records(broker, start_worker):
    worker = start_worker()
    start = aligned_past()
    events = list(webshop_windows(start, 33, visits=400, rate=0.08, seed=7, outage=range(20, 25)))
    events.append({"event_id": "flush", "ts": start + 36 * WINDOW, "channel": "webshop", "type": "visit"})
    lines = [orjson.dumps(e) for e in events]
    produce(broker.bootstrap, worker.settings["topics"]["touchpoints"], [(b"webshop", v) for v in lines])

    expected: list[dict] = []
    backtest_settings = KohtaSettings(**{k: v for k, v in worker.settings.items() if k != "web_port"})
    Backtest(backtest_settings, on_alert=expected.append).run(iter(lines))
    assert [r["status"] for r in expected] == ["open", "resolved"]

    reader = TopicReader(broker.bootstrap, worker.settings["topics"]["alerts"])
    records = reader.wait_for(lambda rs: len(rs) >= len(expected))
    assert [orjson.loads(r.value) for r in records] == expected
    reader.close()
