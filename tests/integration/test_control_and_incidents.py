"""Control commands and incident grouping end to end on the embedded broker: a
maintenance window sent on the control topic silences its windows, a bad
command goes to the dead letters, and related alerts share one incident."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import orjson
import pytest

from tests.integration.kafka_helpers import TopicReader, produce
from tests.integration.scenarios import WINDOW, aligned_past, as_batches, webshop_windows

pytestmark = pytest.mark.integration


def _values(records, series: str) -> list[dict]:
    return [v for v in (orjson.loads(r.value) for r in records) if v["series"] == series]


def test_maintenance_from_the_control_topic_silences_its_windows(broker, start_worker):
    worker = start_worker()
    topics = worker.settings["topics"]
    start = aligned_past()
    # Conversion collapses in windows 20-29; maintenance covers windows 20-24 only.
    maintenance = {"command": "maintenance", "channel": "webshop", "start": start + 20 * WINDOW,
                   "end": start + 25 * WINDOW, "reason": "checkout release"}
    bad = [b"{nope", orjson.dumps({"command": "reboot", "channel": "webshop"})]
    produce(broker.bootstrap, topics["control"],
            [(b"webshop", orjson.dumps(maintenance)), *((b"webshop", raw) for raw in bad)])

    # The control topic has one partition read by one agent in order: once both bad
    # commands are dead letters, the maintenance before them was forwarded.
    dead = TopicReader(broker.bootstrap, topics["dead_letter"])
    records = dead.wait_for(lambda rs: len(rs) >= 2)
    by_reason = {dict(r.headers)["kohta-reason"].decode(): r for r in records}
    assert set(by_reason) == {"invalid_json", "invalid_value"}
    assert by_reason["invalid_json"].value == b"{nope"
    assert orjson.loads(by_reason["invalid_value"].value)["command"] == "reboot"
    for record in records:
        assert dict(record.headers)["kohta-source-topic"].decode() == topics["control"]
    dead.close()
    time.sleep(2.0)  # let the forwarded command be applied in webshop's partition

    events = list(webshop_windows(start, 33, visits=400, rate=0.08, seed=7, outage=range(20, 30)))
    events.append({"event_id": "flush", "ts": start + 36 * WINDOW, "channel": "webshop", "type": "visit"})
    produce(broker.bootstrap, topics["touchpoints"], as_batches(iter(events), 100, b"webshop"))

    alerts = TopicReader(broker.bootstrap, topics["alerts"])
    records = alerts.wait_for(lambda rs: any(
        v["status"] == "open" for v in _values(rs, "webshop/conversion_rate")), timeout=90)
    mine = _values(records, "webshop/conversion_rate")
    opened = [m for m in mine if m["status"] == "open"]
    # Nothing opened inside the maintenance: the first alert is for window 25, the
    # first outage window after it (without maintenance it would be window 20).
    assert [m["start_epoch"] for m in opened] == [start + 25 * WINDOW], worker.log_tail()
    assert opened[0]["direction"] == "down"
    assert not [m for m in mine if start + 20 * WINDOW <= m["start_epoch"] < start + 25 * WINDOW]
    alerts.close()


def test_chat_outage_and_phone_surge_share_one_incident(broker, start_worker):
    def grouped(config):
        config["incidents"] = {"groups": [["chat/contact_volume", "phone/contact_volume"]]}

    worker = start_worker(grouped)
    topics = worker.settings["topics"]
    start = aligned_past()
    normal, outage = 15, 5
    messages = []
    for w in range(normal + outage):
        for channel, count in (("chat", 40 if w < normal else 0), ("phone", 50 if w < normal else 90)):
            events = [{"event_id": f"{channel}-{w}-{i}", "ts": start + w * WINDOW + (i + 0.5) * WINDOW / count,
                       "channel": channel, "type": "contact"} for i in range(count)]
            messages += as_batches(iter(events), 100, channel.encode())
    # A visit (no contact) per channel just before the end of window 21: with the
    # 60 s lateness it closes windows up to 19, the last one fed.
    for channel in ("chat", "phone"):
        flush = {"event_id": f"flush-{channel}", "ts": start + (normal + outage + 2) * WINDOW - 1,
                 "channel": channel, "type": "visit"}
        messages.append((channel.encode(), orjson.dumps(flush)))
    produce(broker.bootstrap, topics["touchpoints"], messages)

    alerts = TopicReader(broker.bootstrap, topics["alerts"])
    records = alerts.wait_for(lambda rs: all(
        _values(rs, s) for s in ("chat/contact_volume", "phone/contact_volume")), timeout=90)
    (chat,) = _values(records, "chat/contact_volume")
    (phone,) = _values(records, "phone/contact_volume")
    assert chat["status"] == phone["status"] == "open"
    assert chat["start_epoch"] == phone["start_epoch"] == start + normal * WINDOW

    assert chat["incident_id"] is not None
    assert chat["incident_id"] == phone["incident_id"]
    # Chat 0 against 40 is -100 %, phone 90 against 50 is +80 %; the incident dates
    # from the first outage window. Whichever alert was grouped second names both.
    since = datetime.fromtimestamp(start + normal * WINDOW, UTC)
    both = f"chat contact_volume -100%, phone contact_volume +80% since {since:%Y-%m-%d %H:%M} UTC"
    summaries = {chat["incident_summary"], phone["incident_summary"]}
    assert both in summaries
    assert summaries - {both} <= {f"chat contact_volume -100% since {since:%Y-%m-%d %H:%M} UTC",
                                  f"phone contact_volume +80% since {since:%Y-%m-%d %H:%M} UTC"}

    # English text: band = expected ± 4 * sqrt(expected): 40 ± 25.3 and 50 ± 28.3.
    assert chat["text"] == f"Chat contacts 0 (expected 15–65) since {since:%H:%M} UTC"
    assert phone["text"] == f"Phone contacts 90 (expected 22–78) since {since:%H:%M} UTC"
    alerts.close()
