"""The worker's Kafka consumer is made with the configured fetch wait, not Faust's 1,500 ms."""

from __future__ import annotations

import asyncio

from faust.sensors import Monitor
from faust.types import TP
from faust.types.tuples import Message
from prometheus_client import CollectorRegistry

from streams import transport
from streams.app import create_app
from streams.codecs import RawSchema
from streams.monitor import StreamProgressMonitor
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


def test_the_stall_log_waits_for_the_configured_time_on_every_leg_of_the_event_path(tmp_path):
    settings = KohtaSettings(data_dir=tmp_path, consumer={"stall_log_seconds": 20})

    async def build() -> tuple[float, ...]:
        thread = create_app(settings, CollectorRegistry()).consumer._thread
        return (thread.tp_fetch_request_timeout_secs, thread.tp_fetch_response_timeout_secs,
                thread.tp_stream_timeout_secs)

    assert asyncio.run(build()) == (20, 20, 20)
    assert KohtaSettings(data_dir=tmp_path).consumer.stall_log_seconds == 300  # Faust's own default


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


def test_a_partition_without_a_committed_offset_is_due_from_the_start_of_its_log(tmp_path, monkeypatch):
    """Nothing committed yet: the records Faust dropped while its flow was stopped have
    no committed offset to be read again from, so the log's first offset is due."""
    from faust.transport.drivers import aiokafka as faust_aiokafka

    async def nothing_committed(consumer) -> None:
        consumer._read_offset["touchpoints-0"] = None
        consumer._read_offset["touchpoints-1"] = 40

    monkeypatch.setattr(faust_aiokafka.Consumer, "perform_seek", nothing_committed)

    async def seek() -> tuple:
        app = create_app(KohtaSettings(data_dir=tmp_path), CollectorRegistry())
        asked: list[tuple] = []

        async def earliest_offsets(*partitions):
            asked.append(partitions)
            return {tp: 0 for tp in partitions}

        monkeypatch.setattr(app.consumer, "earliest_offsets", earliest_offsets)
        await app.consumer.perform_seek()
        due = app.offset_continuity
        return asked, due.check("touchpoints-0", 392), due.check("touchpoints-1", 40)

    asked, first, committed = asyncio.run(seek())
    assert asked == [("touchpoints-0",)]
    assert first == ("reread", 0)  # 0-391 never came: read again from the start
    assert committed == ("process", None)


def test_faust_commits_nothing_past_a_hole_until_what_was_set_aside_is_processed(tmp_path, monkeypatch):
    """The SIGKILL test's case: committed offset 1, the agent handed 94 first. Faust
    fills 2-93 with a gap it takes for empty and acks the batch with 94 set aside, so
    it would commit 95; it must commit nothing until 1-94 are processed."""
    tp = ("kohta.touchpoints", 1)
    seeks: list[tuple] = []
    monkeypatch.setattr(transport, "DRAIN_LOOP_WAIT_SECONDS", 0.01)  # no drain loop runs here

    async def run() -> tuple:
        app = create_app(KohtaSettings(data_dir=tmp_path), CollectorRegistry())
        consumer, continuity = app.consumer, app.offset_continuity

        async def seek(partition, offset) -> None:
            seeks.append((partition, offset, consumer.flow_active))

        monkeypatch.setattr(consumer, "seek", seek)
        consumer.resume_flow()
        consumer._committed_offset[tp] = 1
        continuity.after_seek({tp: 1})
        await consumer._add_gap(tp, 2, 93)  # what Faust's drain loop does for 1 -> 94
        assert continuity.check(tp, 94) == ("reread", 1)
        continuity.set_aside(tp, 94)
        consumer._acked[tp].append(94)  # the batch is acked, 94 with it
        await consumer.reread_from(tp, 1)
        held = consumer._new_offset(tp)
        for offset in range(1, 95):  # read again and processed
            assert continuity.check(tp, offset) == ("process", None)
            consumer._acked[tp].append(offset)
        return held, consumer._new_offset(tp), consumer.flow_active

    held, committed, flow_active = asyncio.run(run())
    assert seeks == [(tp, 1, False)]  # read again with the flow stopped
    assert held is None  # nothing past offset 1 is committed meanwhile
    assert committed == 95 and flow_active is True


def test_an_accepted_empty_hole_lets_commits_pass(tmp_path):
    tp = ("kohta.touchpoints", 0)

    async def run() -> int | None:
        app = create_app(KohtaSettings(data_dir=tmp_path), CollectorRegistry())
        consumer, continuity = app.consumer, app.offset_continuity
        consumer._committed_offset[tp] = 10
        continuity.after_seek({tp: 10})
        # 10 and 11 are transaction markers: 12 comes back each time it is read again.
        verdicts = []
        for _ in range(3):
            verdicts.append(continuity.check(tp, 12)[0])
            if verdicts[-1] != "process_past_hole":
                continuity.set_aside(tp, 12)
        assert verdicts == ["reread", "reread", "process_past_hole"]
        await consumer.accept_hole(tp, 10, 12)
        consumer._acked[tp].append(12)
        return consumer._new_offset(tp)

    assert asyncio.run(run()) == 13


def test_the_monitor_keeps_full_statistics_only_when_faust_stats_page_is_served(tmp_path):
    """Without the stats page the worker's Monitor keeps no statistics per message, but
    still records when each partition's stream last took an event: Faust's consumer
    reads that to log a stream that stopped processing."""
    tp, message = TP("kohta.touchpoints", 2), Message("kohta.touchpoints", 2, 41, 0.0, 0, None, b"web", b"{}", None)

    def one_message(web_debug_endpoints: bool) -> tuple[type, int, bool]:
        async def run() -> tuple[type, int, bool]:
            app = create_app(KohtaSettings(data_dir=tmp_path, web_debug_endpoints=web_debug_endpoints),
                             CollectorRegistry())
            list(app.on_init_dependencies())  # where Faust adds its Monitor to the sensors
            assert app.monitor in set(app.sensors)
            stream = app.topic(tp.topic).stream()
            stream.task_owner = asyncio.current_task()
            event = app.create_event(message.key, message.value, None, message)
            app.sensors.on_message_in(tp, message.offset, message)
            state = app.sensors.on_stream_event_in(tp, message.offset, stream, event)
            app.sensors.on_stream_event_out(tp, message.offset, stream, event, state)
            app.sensors.on_message_out(tp, message.offset, message)
            return type(app.monitor), app.monitor.messages_received_total, tp in app.monitor.stream_inbound_time

        return asyncio.run(run())

    assert one_message(web_debug_endpoints=False) == (StreamProgressMonitor, 0, True)
    assert one_message(web_debug_endpoints=True) == (Monitor, 1, True)


def test_events_are_made_with_the_configured_event_class(tmp_path):
    """The worker looks up conf.Event once instead of per message; the events must not differ."""

    async def build() -> tuple[type, object]:
        app = create_app(KohtaSettings(data_dir=tmp_path), CollectorRegistry())
        message = Message("kohta.touchpoints", 2, 41, 0.0, 0, None, b"web", b"{}", None)
        first, second = (app.create_event(b"web", b"{}", None, message) for _ in range(2))
        assert (second.key, second.value, second.message) == (b"web", b"{}", message)
        return type(first), app.conf.Event

    made, configured = asyncio.run(build())
    assert made is configured


def test_topics_hand_over_keys_and_values_as_the_bytes_that_came(tmp_path):
    async def decode() -> tuple[object, object]:
        app = create_app(KohtaSettings(data_dir=tmp_path), CollectorRegistry())
        topic = app.topic("kohta.touchpoints", schema=RawSchema())
        message = Message("kohta.touchpoints", 0, 1, 0.0, 0, None, b"web", b'{"channel": "web"}', None)
        event = await topic.schema.compile(app)(message)
        return event.key, event.value

    assert asyncio.run(decode()) == (b"web", b'{"channel": "web"}')


def test_a_partition_is_read_again_only_once_faust_s_drain_loop_has_let_go_of_its_fetched_records(
    tmp_path, monkeypatch
):
    """Resumed before the drain loop noticed the stop, the loop hands over the rest of
    what it fetched before the seek and moves the read offset past the hole, and Faust
    drops the records read again (the SIGKILL test's stall). So the seek waits until
    the loop is back waiting for the flow."""
    from faust.transport.drivers import aiokafka as faust_aiokafka

    async def no_fetch(consumer, timeout) -> tuple:
        return {}, set()

    monkeypatch.setattr(faust_aiokafka.Consumer, "_wait_next_records", no_fetch)
    tp = TP("kohta.touchpoints", 0)

    async def run() -> list[tuple]:
        app = create_app(KohtaSettings(data_dir=tmp_path), CollectorRegistry())
        consumer = app.consumer
        events: list[tuple] = []

        async def seek(partition, offset) -> None:
            events.append(("seek", offset, consumer.flow_active))

        monkeypatch.setattr(consumer, "seek", seek)
        consumer.resume_flow()
        reread = asyncio.ensure_future(consumer.reread_from(tp, 161))
        for _ in range(5):
            await asyncio.sleep(0)
        events.append(("flow stopped, drain loop busy", consumer.flow_active))
        await consumer._wait_next_records(1.0)  # the drain loop comes back for more
        await reread
        events.append(("after", consumer.flow_active))
        return events

    assert asyncio.run(run()) == [
        ("flow stopped, drain loop busy", False),
        ("seek", 161, False),
        ("after", True),
    ]


def test_a_read_again_takes_every_other_partition_back_to_what_the_drain_loop_handed_over(tmp_path, monkeypatch):
    """Let go mid-batch, the drain loop drops the rest of its fetch for every partition.
    The SIGKILL test's stall: touchpoints:0 handed up to 262, the consumer's position at
    314 (the log's end), nothing more to come to reveal the gap. So the read again of
    touchpoints:1 takes touchpoints:0 back to 262, and a partition nothing was handed
    from since its seek back to its offset due. A partition no longer assigned is left
    alone, and so is the control topic: no hole check watches it, and a command read
    twice would be applied twice."""
    monkeypatch.setattr(transport, "DRAIN_LOOP_WAIT_SECONDS", 0.01)  # no drain loop runs here
    hole, handed, fresh = TP("kohta.touchpoints", 1), TP("kohta.touchpoints", 0), TP("kohta.repartition", 0)
    control, revoked = TP("kohta.control", 0), TP("kohta.touchpoints", 2)

    async def run() -> tuple[list, list]:
        app = create_app(KohtaSettings(data_dir=tmp_path), CollectorRegistry())
        consumer, continuity = app.consumer, app.offset_continuity
        seeks: list[tuple] = []

        async def seek(partition, offset) -> None:
            seeks.append((partition, offset, consumer.flow_active))

        monkeypatch.setattr(consumer, "seek", seek)
        monkeypatch.setattr(consumer, "assignment", lambda: {hole, handed, fresh, control})
        continuity.after_seek({hole: 460, handed: 200, fresh: 40, revoked: 7})
        for offset in range(200, 263):
            continuity.check(handed, offset)
        consumer._read_offset[handed] = 262
        consumer._read_offset[control] = 3
        consumer._read_offset[revoked] = 9
        consumer.resume_flow()
        await consumer.reread_from(hole, 460)
        first = sorted(seeks)
        # With the flow already stopped (a rebalance's seek is under way), whoever stopped
        # it takes the partitions back: only the hole is read again.
        seeks.clear()
        consumer.stop_flow()
        await consumer.reread_from(hole, 460)
        return first, seeks

    with_flow, stopped = asyncio.run(run())
    assert with_flow == sorted([(hole, 460, False), (handed, 262, False), (fresh, 40, False)])
    assert stopped == [(hole, 460, False)]
