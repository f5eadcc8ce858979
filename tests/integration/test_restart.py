"""A restarted worker resumes from its changelogs: window counts survive a restart
and are neither lost nor counted twice."""

from __future__ import annotations

import orjson
import pytest

from tests.integration.kafka_helpers import metric_value, produce, produce_one_batch
from tests.integration.scenarios import WINDOW, aligned_past
from tests.integration.test_faults import read_topic
from tests.integration.test_pipeline import _wait_for_metric

pytestmark = pytest.mark.integration


def _contacts(start: float, ids: range) -> list[tuple[bytes, bytes]]:
    return [
        (b"chat", orjson.dumps({"event_id": f"r-{i}", "ts": start + i, "channel": "chat", "type": "contact"}))
        for i in ids
    ]


def _ten_more_then_close(broker, worker, start: float) -> str:
    """Events 20-29 of the open window, then one that closes it; the exposition once
    the closed window's count is out."""
    topic = worker.settings["topics"]["touchpoints"]
    produce(broker.bootstrap, topic, _contacts(start, range(20, 30)))
    close = {"event_id": "close", "ts": start + 2 * WINDOW + 1, "channel": "chat", "type": "visit"}
    produce(broker.bootstrap, topic, [(b"chat", orjson.dumps(close))])
    return _wait_for_metric(worker, "kohta_series_observed", None, channel="chat",
                            metric="contact_volume", touchpoint="")


def _observed_contacts(exposition: str) -> float | None:
    return metric_value(exposition, "kohta_series_observed", channel="chat", metric="contact_volume", touchpoint="")


def test_window_counts_survive_a_worker_restart(broker, start_worker):
    worker = start_worker()
    topics = worker.settings["topics"]
    start = aligned_past()
    produce(broker.bootstrap, topics["touchpoints"], _contacts(start, range(20)))
    _wait_for_metric(worker, "kohta_events_total", 20, channel="chat", outcome="accepted")
    worker.stop()

    worker.start()  # same group, same topics: it must restore the open window from the changelog
    exposition = _ten_more_then_close(broker, worker, start)

    # 20 before the restart + 10 after: 10 would mean lost state, 50 a replay counted twice.
    assert _observed_contacts(exposition) == 30, worker.log_tail()
    # The new process read only what came after the restart.
    assert metric_value(exposition, "kohta_events_total", channel="chat", outcome="accepted") == 11


def test_recovery_reads_a_changelog_to_the_end_of_its_last_batch(broker, start_worker):
    """The embedded broker reports a partition's end as its last batch's base offset + 1
    (streams.log_end). A last batch holding an older windows record then the newer one
    tells a recovery that stopped at the reported end from one that read to the real end."""
    worker = start_worker()
    topics = worker.settings["topics"]
    start = aligned_past()
    for ids in (range(10), range(10, 20)):
        produce(broker.bootstrap, topics["touchpoints"], _contacts(start, ids))
        _wait_for_metric(worker, "kohta_events_total", ids.stop, channel="chat", outcome="accepted")
    worker.stop()
    changelog = f"{worker.settings['app_id']}-kohta-state-changelog"
    versions = [r for r in read_topic(broker.bootstrap, changelog) if orjson.loads(r.key) == "w:chat"]
    assert len(versions) >= 2, "the two bursts were expected to write two windows records"
    older, newer = versions[0], versions[-1]
    appended = produce_one_batch(broker.bootstrap, changelog, [
        (older.partition, older.key, older.value), (newer.partition, newer.key, newer.value)])
    assert len(set(appended)) == 2

    worker.start()
    exposition = _ten_more_then_close(broker, worker, start)

    # 30 if recovery read the newer record; 20 (the older record's 10 + 10) if it
    # stopped at the reported end, before it.
    assert _observed_contacts(exposition) == 30, worker.log_tail()
