"""The pipeline end to end on the embedded broker: real producers, a real worker
process, alerts and dead letters read back from their topics."""

from __future__ import annotations

import re
import time

import orjson
import pytest

from tests.integration.kafka_helpers import TopicReader, metric_value, produce
from tests.integration.scenarios import WINDOW, aligned_past, as_batches, as_singles, webshop_windows

pytestmark = pytest.mark.integration


def _wait_for_metric(
    worker, name: str, wanted: float | None, timeout: float = 30, *, at_least: bool = False, **labels: str
) -> str:
    """Poll /metrics until the sample equals ``wanted`` (reaches it, with ``at_least``; exists, for
    None); return the exposition."""
    deadline = time.monotonic() + timeout
    while True:
        exposition = worker.metrics()
        value = metric_value(exposition, name, **labels)
        if wanted is None:
            reached = value is not None
        else:
            reached = value is not None and (value >= wanted if at_least else value == wanted)
        if reached or time.monotonic() > deadline:
            return exposition
        time.sleep(0.3)


def _statuses(records, series: str) -> list[str]:
    return [v["status"] for v in (orjson.loads(r.value) for r in records) if v["series"] == series]


def test_incident_opens_then_resolves_an_alert(broker, start_worker):
    worker = start_worker()
    topics = worker.settings["topics"]
    start = aligned_past()
    # 20 normal windows, a 5-window checkout outage, 8 normal windows, then one
    # event far enough ahead to close them all.
    events = list(webshop_windows(start, 33, visits=400, rate=0.08, seed=7, outage=range(20, 25)))
    events.append({"event_id": "flush", "ts": start + 36 * WINDOW, "channel": "webshop", "type": "visit"})
    produce(broker.bootstrap, topics["touchpoints"], as_batches(iter(events), 100, b"webshop"))

    alerts = TopicReader(broker.bootstrap, topics["alerts"])
    records = alerts.wait_for(lambda rs: "resolved" in _statuses(rs, "webshop/conversion_rate"))
    mine = [orjson.loads(r.value) for r in records if orjson.loads(r.value)["series"] == "webshop/conversion_rate"]
    opened, resolved = mine[0], mine[-1]
    assert [m["status"] for m in mine] == ["open", "resolved"]
    assert opened["channel"] == "webshop" and opened["metric"] == "conversion_rate"
    assert opened["touchpoint"] is None
    assert opened["direction"] == "down"
    assert opened["start_epoch"] == start + 20 * WINDOW  # the first outage window
    assert opened["observed"] < 0.02 < 0.06 < opened["expected"]
    assert opened["severity"] in {"warning", "critical"}
    assert resolved["alert_id"] == opened["alert_id"]
    assert resolved["resolved_at"] > opened["detected_at"]
    assert all(r.key == b"webshop/conversion_rate" for r in records if r.value == orjson.dumps(opened))
    # No other series alerted on this clean, steady traffic.
    assert {orjson.loads(r.value)["series"] for r in records} == {"webshop/conversion_rate"}
    # /metrics shows the series, its band and score, the open-alert count and the close lag.
    # The resolution is sent when the first windows after the outage close; the later ones
    # close as the worker reads on, so wait for all 33 before reading the figures.
    exposition = _wait_for_metric(worker, "kohta_window_close_lag_seconds_count", 33, at_least=True)
    series = {"channel": "webshop", "metric": "conversion_rate", "touchpoint": ""}
    for name in ("kohta_series_observed", "kohta_series_expected", "kohta_series_lower",
                 "kohta_series_upper", "kohta_series_anomaly_score"):
        assert metric_value(exposition, name, **series) is not None, name
    assert metric_value(exposition, "kohta_alerts_total", status="open") == 1
    assert metric_value(exposition, "kohta_alerts_total", status="resolved") == 1
    assert (metric_value(exposition, "kohta_alerts_open", channel="webshop",
                         metric="conversion_rate", severity=opened["severity"]) or 0) == 0
    assert metric_value(exposition, "kohta_window_close_lag_seconds_count") >= 33
    assert metric_value(exposition, "kohta_events_total", channel="webshop", outcome="accepted") == len(events)
    assert not re.search(r'"c[0-9]+"|customer|v-[0-9]+-[0-9]+', exposition)
    # Customer ids never reach alerts.
    assert not [r for r in records if b"customer_id" in r.value or re.search(rb'"c[0-9]+"', r.value)]
    alerts.close()


def test_bad_messages_go_to_dead_letters_while_valid_ones_flow(broker, start_worker):
    worker = start_worker()
    topics = worker.settings["topics"]
    start = aligned_past()
    good = {"event_id": "ok-1", "ts": start + 1, "channel": "chat", "type": "contact"}
    bad_messages = [
        (b"chat", b"{not json"),
        (b"chat", orjson.dumps({"event_id": "m-1", "ts": start, "channel": "chat"})),  # no type
        (b"chat", orjson.dumps({**good, "event_id": "r-1", "survey": "nps", "score": 11})),
        (b"chat", orjson.dumps({**good, "event_id": "u-1", "surprise": True})),
        (b"chat", b'{"event_id":"n-1","ts":1e999,"channel":"chat","type":"contact"}'),
    ]
    mixed_batch = orjson.dumps([good, {**good, "event_id": "bad-channel", "channel": "Chat!"}])
    produce(broker.bootstrap, topics["touchpoints"], [*bad_messages, (b"chat", mixed_batch)])
    # A late event: far ahead first, then one whose window closed long ago.
    produce(broker.bootstrap, topics["touchpoints"], [
        (b"chat", orjson.dumps({**good, "event_id": "ahead", "ts": start + 10 * WINDOW})),
        (b"chat", orjson.dumps({**good, "event_id": "late-1", "ts": start + 2})),
    ])

    dead = TopicReader(broker.bootstrap, topics["dead_letter"])
    records = dead.wait_for(lambda rs: len(rs) >= 7)
    reasons = [dict(r.headers)["kohta-reason"].decode() for r in records]
    assert sorted(reasons) == sorted(
        ["invalid_json", "missing_field", "out_of_range", "unknown_field", "non_finite", "invalid_value", "late"]
    )
    by_reason = {dict(r.headers)["kohta-reason"].decode(): r for r in records}
    # Whole bad messages are kept exactly as they came, with where they came from.
    assert by_reason["invalid_json"].value == b"{not json"
    headers = dict(by_reason["invalid_json"].headers)
    assert headers["kohta-source-topic"].decode() == topics["touchpoints"]
    assert int(headers["kohta-source-partition"]) in (0, 1)
    assert int(headers["kohta-source-offset"]) >= 0
    # One bad element of a batch goes alone, with its index; its sibling is counted.
    bad_element = by_reason["invalid_value"]
    assert dict(bad_element.headers)["kohta-batch-index"] == b"1"
    assert orjson.loads(bad_element.value)["event_id"] == "bad-channel"
    assert orjson.loads(by_reason["late"].value)["event_id"] == "late-1"
    dead.close()

    exposition = _wait_for_metric(worker, "kohta_events_total", 2, channel="chat", outcome="accepted")
    # The batch's good event and "ahead"; the late one is not counted as accepted.
    assert metric_value(exposition, "kohta_events_total", channel="chat", outcome="accepted") == 2
    assert metric_value(exposition, "kohta_dead_letters_total", reason="invalid_json") == 1
    assert metric_value(exposition, "kohta_dead_letters_total", reason="late") == 1
    assert worker.process.poll() is None  # still running


def test_events_keyed_wrongly_are_counted_in_their_channels_series(broker, start_worker):
    worker = start_worker()
    topics = worker.settings["topics"]
    start = aligned_past()
    # Chat contacts keyed as "webshop", with no key, and as single events and
    # batches: all must land in chat's series, whatever partition they arrive on.
    chat = [{"event_id": f"k-{i}", "ts": start + i, "channel": "chat", "type": "contact",
             "touchpoint": "billing"} for i in range(30)]
    produce(broker.bootstrap, topics["touchpoints"], [
        *as_singles(iter(chat[:10]), b"webshop"),
        *as_singles(iter(chat[10:20]), None),
        *as_batches(iter(chat[20:]), 5, b"phone"),
    ])
    # Forwarded events take one more hop (the repartition topic); in live traffic
    # that is milliseconds against a lateness of minutes. Here event time jumps, so
    # wait until all 30 are counted before pushing the watermark past the window.
    _wait_for_metric(worker, "kohta_events_total", 30, channel="chat", outcome="accepted")
    # Close the first window only (its end plus the 60 s lateness has passed).
    produce(broker.bootstrap, topics["touchpoints"], as_singles(iter([
        {"event_id": "close", "ts": start + 2 * WINDOW + 1, "channel": "chat", "type": "visit"}]), b"chat"))

    exposition = _wait_for_metric(worker, "kohta_events_total", 31, channel="chat", outcome="accepted")
    exposition = _wait_for_metric(worker, "kohta_series_observed", None, channel="chat",
                                  metric="contact_volume", touchpoint="")
    observed = metric_value(exposition, "kohta_series_observed", channel="chat",
                            metric="contact_volume", touchpoint="")
    # The closed window holds all 30 contacts, whichever way they were keyed.
    assert observed == 30, worker.log_tail()
    assert metric_value(exposition, "kohta_series_observed", channel="chat", metric="contact_volume",
                        touchpoint="billing") == 30
    # "webshop" and "phone" keys hash to partition 1, chat's series lives in 0.
    forwarded = metric_value(exposition, "kohta_events_total", channel="chat", outcome="forwarded") or 0
    assert forwarded >= 20
    accepted = metric_value(exposition, "kohta_events_total", channel="chat", outcome="accepted")
    assert accepted == 31
