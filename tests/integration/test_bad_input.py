"""Bad input never stops the worker: over a thousand generated bad messages (see
``bad_messages.py``) mixed with valid ones, each rejection dead-lettered with its
reason and source, every valid event counted, offsets committed to the end, and the
PII canaries kept out of logs, metrics, alerts and dead-letter headers."""

from __future__ import annotations

import time
from collections import Counter, defaultdict

import orjson
import pytest
from kafka import KafkaAdminClient, KafkaProducer, TopicPartition

from streams.backtest import Backtest
from streams.settings import KohtaSettings
from tests.integration.bad_messages import (
    PII_ATTR,
    PII_CUSTOMER,
    Sample,
    build_corpus,
    expected_reasons,
    valid_events,
)
from tests.integration.kafka_helpers import TopicReader, WorkerProcess, metric_value
from tests.integration.scenarios import aligned_past
from tests.integration.test_faults import read_topic

pytestmark = pytest.mark.integration

HEADERS = ("kohta-reason", "kohta-detail", "kohta-source-topic", "kohta-source-partition", "kohta-source-offset")
CANARIES = (PII_CUSTOMER.encode(), PII_ATTR.encode())


def _produce(bootstrap: str, topic: str, samples: list[Sample]) -> list[tuple[int, int]]:
    """Send every sample in order; return each one's (partition, offset)."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, max_request_size=16_000_000)
    try:
        futures = [producer.send(topic, key=s.key, value=s.value) for s in samples]
        producer.flush()
        return [(m.partition, m.offset) for m in (f.get(timeout=60) for f in futures)]
    finally:
        producer.close()


def _crashes(worker: WorkerProcess) -> list[str]:
    return [line[:400] for line in worker.log_path.read_text(errors="replace").splitlines() if "Crashed" in line]


def _committed(bootstrap: str, group: str) -> dict[TopicPartition, int] | str:
    """The group's committed offsets, or why they could not be read."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        offsets = admin.list_group_offsets({group: None})[group]
        return {tp: meta.offset for tp, meta in offsets.items()}
    except Exception as exc:  # noqa: BLE001 - a broker without OffsetFetch is reported, not fatal
        return f"{type(exc).__name__}: {exc}"
    finally:
        admin.close()


def _no_wall_clock_closes(config: dict) -> None:
    # The backtest has no wall clock: keep the worker's event clocks on event time.
    config["windows"]["idle_timeout_seconds"] = 3600


def test_a_thousand_bad_messages_are_dead_lettered_and_the_worker_keeps_going(broker, start_worker):
    worker = start_worker(_no_wall_clock_closes)
    topics = worker.settings["topics"]
    start = aligned_past()
    samples = build_corpus(seed=20261123, start=start, now=time.time(), bad_messages=1200)
    valid = valid_events(samples)
    want_reasons = expected_reasons(samples)
    assert sum(1 for s in samples if s.rejections) >= 1000
    assert set(want_reasons) == {
        "empty", "too_large", "invalid_json", "not_an_object", "missing_field", "unknown_field",
        "wrong_type", "invalid_value", "non_finite", "out_of_range", "invalid_timestamp",
    }
    # The worker's code path without Kafka agrees on every count, and gives the alerts.
    expected_alerts: list[dict] = []
    backtest = Backtest(KohtaSettings(**worker.settings), on_alert=expected_alerts.append)
    summary = backtest.run(iter([s.value or b"" for s in samples]))
    backtest.finish()
    # (The backtest skips blank lines, which the worker dead-letters as empty.)
    blank = sum(1 for s in samples if not (s.value or b"").strip())
    assert summary.rejected == want_reasons - Counter(empty=blank) and summary.accepted == len(valid)
    assert any(a["series"] == "chat/contact_volume" for a in expected_alerts)

    coords = _produce(broker.bootstrap, topics["touchpoints"], samples)
    by_coord = dict(zip(coords, samples, strict=True))
    total = sum(want_reasons.values())

    dead = TopicReader(broker.bootstrap, topics["dead_letter"])
    alive_checks = 0
    deadline = time.monotonic() + 120
    while len(dead.records) < total:
        assert time.monotonic() < deadline, (
            f"{len(dead.records)} of {total} dead letters after 120 s; crashes: {_crashes(worker)}")
        assert worker.process.poll() is None, worker.log_tail()
        worker.metrics()  # answers while it works
        alive_checks += 1
        dead.wait_for(lambda rs, n=len(dead.records): len(rs) > n or len(rs) >= total, timeout=10)
    dead.close()
    time.sleep(1.0)
    records = read_topic(broker.bootstrap, topics["dead_letter"])  # and nothing more came

    # Every rejection, once, with its reason and where it came from.
    assert len(records) == total
    got_reasons = Counter(dict(r.headers)["kohta-reason"].decode() for r in records)
    assert got_reasons == want_reasons
    per_source: dict[tuple[int, int], list] = defaultdict(list)
    for record in records:
        headers = dict(record.headers)
        assert all(name in headers for name in HEADERS), headers.keys()
        assert headers["kohta-source-topic"].decode() == topics["touchpoints"]
        source = (int(headers["kohta-source-partition"]), int(headers["kohta-source-offset"]))
        index = headers.get("kohta-batch-index")
        per_source[source].append((headers["kohta-reason"].decode(), None if index is None else int(index),
                                   record.value or b""))
        for name, value in record.headers:
            assert not any(c in value for c in CANARIES), f"PII in dead-letter header {name}"
    truncated = {(int(h["kohta-source-partition"]), int(h["kohta-source-offset"])): int(h["kohta-truncated-from"])
                 for h in (dict(r.headers) for r in records) if "kohta-truncated-from" in h}
    for coord, sample in by_coord.items():
        got = per_source.pop(coord, [])
        assert [(reason, index) for reason, index, _ in got] == sample.rejections, (sample.kind, coord)
        # A whole message is kept as it came (up to max_message_bytes: then its head,
        # and its size in kohta-truncated-from); a batch element goes alone, as JSON.
        assert [value for _, _, value in got] == sample.dead_values, (sample.kind, coord)
        assert truncated.pop(coord, None) == sample.truncated_from, (sample.kind, coord)
    assert not per_source  # no dead letter names a message that was not sent

    # Every valid event counted, every message read, the worker still up.
    exposition = ""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        exposition = worker.metrics()
        accepted = sum(metric_value(exposition, "kohta_events_total", channel=c, outcome="accepted") or 0
                       for c in ("chat", "webshop"))
        read = metric_value(exposition, "kohta_messages_total", topic=topics["touchpoints"])
        # The last valid event may be absorbed before the last (bad) messages are read.
        if accepted >= len(valid) and read is not None and read >= len(samples):
            break
        time.sleep(0.5)
    assert accepted == len(valid)
    assert metric_value(exposition, "kohta_messages_total", topic=topics["touchpoints"]) == len(samples)
    for reason, count in want_reasons.items():
        assert metric_value(exposition, "kohta_dead_letters_total", reason=reason) == count, reason
    assert worker.process.poll() is None

    # The consumer group's committed offsets reach the end of every partition.
    ends: dict[int, int] = defaultdict(int)
    for partition, offset in coords:
        ends[partition] = max(ends[partition], offset + 1)
    committed: dict[TopicPartition, int] | str = {}
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        committed = _committed(broker.bootstrap, worker.settings["app_id"])
        if isinstance(committed, str) or all(
            committed.get(TopicPartition(topics["touchpoints"], p), -1) >= end for p, end in ends.items()
        ):
            break
        time.sleep(1.0)
    assert not isinstance(committed, str), f"could not read committed offsets: {committed}"
    assert {p: committed.get(TopicPartition(topics["touchpoints"], p)) for p in ends} == dict(ends)

    # The same alerts as the backtest, and no PII anywhere but in dead-letter values.
    alerts = TopicReader(broker.bootstrap, topics["alerts"])
    alert_records = alerts.wait_for(lambda rs: len(rs) >= len(expected_alerts), timeout=30)
    alerts.close()
    assert {(a["alert_id"], a["status"]) for a in map(orjson.loads, (r.value for r in alert_records))} == {
        (a["alert_id"], a["status"]) for a in expected_alerts}
    for record in alert_records:
        assert not any(c in record.value or c in (record.key or b"") for c in CANARIES)
    assert not any(c.decode() in exposition for c in CANARIES)
    log = worker.log_path.read_bytes()
    assert not any(c in log for c in CANARIES)
    assert not _crashes(worker)
    print(f"\n{len(samples)} messages ({sum(1 for s in samples if s.rejections)} with rejections, "
          f"{sum(len(s.value or b'') for s in samples) / 1e6:.1f} MB), {total} dead letters "
          f"{dict(sorted(got_reasons.items()))}, {len(valid)} valid events accepted, "
          f"{len(alert_records)} alert records, committed offsets {dict(sorted(ends.items()))}; "
          f"/metrics polled {alive_checks} times while it worked")


def test_oversized_messages_are_dead_lettered_and_the_partition_keeps_flowing(broker, start_worker):
    """Messages past ``max_message_bytes`` (1 MB) are rejected as too_large, and one
    just under it that is not JSON as invalid_json; the valid events sent after each,
    on the same partition, are still counted.

    The embedded broker takes records of 10 MB (with ``max_request_size`` raised on
    the producer, as here). A dead letter keeps the message as it came up to
    ``max_message_bytes``; past that it keeps the head, with ``kohta-truncated-from``
    giving the full size.
    """
    worker = start_worker()
    topics = worker.settings["topics"]
    start = aligned_past()
    good = {"event_id": "ok-0", "ts": start + 1, "channel": "chat", "type": "contact",
            "customer_id": PII_CUSTOMER}
    big = [
        ("invalid_json", b'{"customer_id":"' + b"x" * 999_884),  # 999,900 bytes: under the limit
        ("too_large", orjson.dumps({**good, "event_id": "big", "attrs": {"a": "y" * 1_000_000}})),
        ("too_large", b"z" * 10_000_000),
    ]
    samples = [Sample("valid", b"chat", orjson.dumps(good), valid=[good])]
    for i, (reason, value) in enumerate(big, start=1):
        event = {**good, "event_id": f"ok-{i}", "ts": start + 1 + i}
        samples += [Sample(reason, b"chat", value, [(reason, None)]),
                    Sample("valid", b"chat", orjson.dumps(event), valid=[event])]
    _produce(broker.bootstrap, topics["touchpoints"], samples)

    deadline = time.monotonic() + 40
    exposition = worker.metrics()
    while time.monotonic() < deadline:
        exposition = worker.metrics()
        if metric_value(exposition, "kohta_events_total", channel="chat", outcome="accepted") == 4:
            break
        time.sleep(0.5)
    dead = read_topic(broker.bootstrap, topics["dead_letter"])
    report = (
        f"sizes {[len(v) for _, v in big]}; dead letters {[dict(r.headers)['kohta-reason'] for r in dead]}; "
        f"messages read {metric_value(exposition, 'kohta_messages_total', topic=topics['touchpoints'])}, "
        f"events accepted {metric_value(exposition, 'kohta_events_total', channel='chat', outcome='accepted')} "
        f"of 4; worker crashes: {_crashes(worker)}"
    )
    print("\n" + report)
    assert worker.process.poll() is None
    assert [dict(r.headers)["kohta-reason"].decode() for r in dead] == [r for r, _ in big], report
    assert metric_value(exposition, "kohta_events_total", channel="chat", outcome="accepted") == 4, report
    assert not _crashes(worker), report
    limit = worker.settings.get("max_message_bytes", 1_000_000)
    for record, (reason, value) in zip(dead, big, strict=True):
        headers = dict(record.headers)
        assert all(name in headers for name in HEADERS)
        if len(value) <= limit:  # kept as it came
            assert record.value == value and "kohta-truncated-from" not in headers
        else:  # its head, and how large it was
            assert record.value == value[:limit]
            assert headers["kohta-truncated-from"] == str(len(value)).encode()
    assert PII_CUSTOMER.encode() not in worker.log_path.read_bytes()


def test_a_corrupt_message_on_the_repartition_topic_loses_no_events(broker, start_worker):
    """The repartition topic is kohta's own, but anything can write to it (a stray
    producer, a worker of another version during a rolling deploy). A message there
    that does not decode must not take the valid events read with it."""
    worker = start_worker()
    topics = worker.settings["topics"]
    start = aligned_past()
    chat_partition = 0  # partition_for("chat", 2)
    events = [{"event_id": f"rp-{i}", "ts": start + i * 0.1, "channel": "chat", "type": "contact"}
              for i in range(300)]
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=50)
    try:
        for i, event in enumerate(events):
            if i % 100 == 0:
                producer.send(topics["repartition"], value=b"\x00not an internal message", partition=chat_partition)
            producer.send(topics["touchpoints"], key=b"chat", value=orjson.dumps(event))
        producer.flush()
    finally:
        producer.close()
    deadline = time.monotonic() + 20
    accepted = None
    while time.monotonic() < deadline:
        exposition = worker.metrics()
        accepted = metric_value(exposition, "kohta_events_total", channel="chat", outcome="accepted")
        read = metric_value(exposition, "kohta_messages_total", topic=topics["touchpoints"])
        if accepted == len(events) or read == len(events):
            break
        time.sleep(0.5)
    time.sleep(1.0)
    accepted = metric_value(worker.metrics(), "kohta_events_total", channel="chat", outcome="accepted")
    print(f"\n{accepted} of {len(events)} events accepted; crashes: {_crashes(worker)}")
    assert worker.process.poll() is None
    assert accepted == len(events), f"{accepted} of {len(events)} accepted; crashes: {_crashes(worker)}"
