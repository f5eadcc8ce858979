"""A restarted worker resumes from its changelogs: window counts survive a restart
and are neither lost nor counted twice."""

from __future__ import annotations

import orjson
import pytest

from tests.integration.kafka_helpers import metric_value, produce
from tests.integration.scenarios import WINDOW, aligned_past
from tests.integration.test_pipeline import _wait_for_metric

pytestmark = pytest.mark.integration


def _contacts(start: float, ids: range) -> list[tuple[bytes, bytes]]:
    return [
        (b"chat", orjson.dumps({"event_id": f"r-{i}", "ts": start + i, "channel": "chat", "type": "contact"}))
        for i in ids
    ]


def test_window_counts_survive_a_worker_restart(broker, start_worker):
    worker = start_worker()
    topics = worker.settings["topics"]
    start = aligned_past()
    produce(broker.bootstrap, topics["touchpoints"], _contacts(start, range(20)))
    _wait_for_metric(worker, "kohta_events_total", 20, channel="chat", outcome="accepted")
    worker.stop()

    worker.start()  # same group, same topics: it must restore the open window from the changelog
    produce(broker.bootstrap, topics["touchpoints"], _contacts(start, range(20, 30)))
    close = {"event_id": "close", "ts": start + 2 * WINDOW + 1, "channel": "chat", "type": "visit"}
    produce(broker.bootstrap, topics["touchpoints"], [(b"chat", orjson.dumps(close))])
    exposition = _wait_for_metric(worker, "kohta_series_observed", None, channel="chat",
                                  metric="contact_volume", touchpoint="")

    # 20 before the restart + 10 after: 10 would mean lost state, 50 a replay counted twice.
    assert metric_value(exposition, "kohta_series_observed", channel="chat", metric="contact_volume",
                        touchpoint="") == 30, worker.log_tail()
    # The new process read only what came after the restart.
    assert metric_value(exposition, "kohta_events_total", channel="chat", outcome="accepted") == 11
