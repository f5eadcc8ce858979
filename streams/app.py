"""Building the Faust app: configuration, tables, topics, the agent, the timer, /metrics.

Everything is made by :func:`create_app` from settings, so that a test (or a
second worker in one process) gets its own app, tables and Prometheus registry.
"""

from __future__ import annotations

import functools
import time

import faust
from faust.types.tuples import Message
from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest

from streams import codecs, internal, log_end, transport
from streams.admin import bootstrap_servers
from streams.cancellation import finish_then_cancel
from streams.changelog import STATE_LAYOUT, StateTable
from streams.engine import Engine
from streams.holes import HoleWatch
from streams.lag import record_lag
from streams.monitor import StreamProgressMonitor
from streams.partitioning import state_key_partition
from streams.processor import Processor, Sinks
from streams.publisher import AlertPublisher
from streams.settings import KohtaSettings
from streams.telemetry import PipelineTelemetry


def _faust_app(settings: KohtaSettings) -> faust.App:
    consumer = settings.consumer
    return transport.App(
        settings.app_id,
        fetch_max_wait_ms=consumer.fetch_max_wait_ms,
        log_end_probe=functools.partial(
            log_end.fetched_ends,
            bootstrap_servers=bootstrap_servers(settings.broker),
            client_options=settings.security.kafka_python(),
        ),
        # Faust's full statistics only where its stats page serves them (streams/monitor.py).
        Monitor=faust.sensors.Monitor if settings.web_debug_endpoints else StreamProgressMonitor,
        broker=settings.broker,
        broker_credentials=settings.security.faust_credentials(),
        store="memory://",
        datadir=str(settings.data_dir),
        topic_partitions=settings.topics.partitions,
        topic_replication_factor=settings.topics.replication_factor,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=consumer.session_timeout_seconds,
        broker_rebalance_timeout=consumer.rebalance_timeout_seconds,
        broker_heartbeat_interval=consumer.heartbeat_interval_seconds,
        broker_commit_interval=consumer.commit_interval_seconds,
        stream_processing_timeout=consumer.stall_log_seconds,
        producer_max_batch_size=settings.producer.max_batch_bytes,
        # A dead letter carries a message of up to max_message_bytes plus headers.
        producer_max_request_size=max(1_048_576, settings.max_message_bytes + 65_536),
        producer_linger=settings.producer.linger_ms / 1000.0,
        stream_recovery_delay=0.0,
        web_enabled=True,
        web_bind=settings.web_host,
        web_host=settings.web_host,
        web_port=settings.web_port,
        # Table contents hold business data: not served over HTTP unless asked for.
        web_tables_enabled=settings.web_debug_endpoints,
        web_router_enabled=settings.web_debug_endpoints,
        web_graph_enabled=settings.web_debug_endpoints,
        web_stats_enabled=settings.web_debug_endpoints,
    )


def create_app(settings: KohtaSettings, registry: CollectorRegistry | None = None) -> faust.App:
    registry = registry if registry is not None else CollectorRegistry()
    ProcessCollector(registry=registry)  # process_resident_memory_bytes and CPU, for ops
    codec = codecs.register()
    app = _faust_app(settings)
    topics = settings.topics

    def table(name: str, partitions: int = topics.partitions) -> faust.Table:
        created = app.Table(name, partitions=partitions)
        # Faust takes table serializers from model types only; plain dicts get ours
        # before the changelog topic (made lazily) reads them.
        created.key_serializer = created.value_serializer = codec
        return created

    # One table, all of a channel's keys in its owner partition, series records before
    # the channel's windows record, the partition's watermark last (see
    # streams.changelog). A crash part-way through a flush then leaves the windows (and
    # their absorbed offsets) behind, so the batch is replayed and its closes redone;
    # series already judged are recognised by their judged_through mark and not judged twice.
    state = StateTable(
        table("kohta-state"), lambda key: state_key_partition(key, topics.partitions), layout=STATE_LAYOUT
    )

    @state.table.on_recover
    async def reindex_state() -> None:
        state.reindex()
        engine.judge.reindex_open_alerts()

    engine = Engine(
        settings,
        windows=state.view("w:"),
        detectors=state.view("s:", "detector"),
        alerts=state.view("s:", "alert"),
        watermarks=state.view("c:"),
        fingerprints=state.view("f:"),
    )
    raw = {"schema": codecs.RawSchema()}
    source = app.topic(topics.touchpoints, topics.repartition, **raw)
    alert_events = app.topic(topics.alert_events, partitions=1, **raw)
    sinks = Sinks(
        alert_events=alert_events,
        dead_letter=app.topic(topics.dead_letter, **raw),
        repartition=app.topic(topics.repartition, partitions=topics.partitions, **raw),
    )
    telemetry = PipelineTelemetry(
        registry, channels=settings.channels, max_discovered_channels=settings.max_discovered_channels
    )
    # Both agents with per-key state look for holes in the offsets Faust hands them.
    holes = HoleWatch(
        app.offset_continuity,
        telemetry.offset_holes,
        reread=lambda tp, offset: app.consumer.reread_from(tp, offset),
        accept_hole=lambda tp, start, end: app.consumer.accept_hole(tp, start, end),
    )
    processor = Processor(settings, engine, telemetry, sinks, [state], holes=holes)
    incidents = StateTable(table("kohta-incidents", partitions=1), lambda key: 0, layout={"": ()})
    publisher = AlertPublisher(settings, incidents.view(""), telemetry, app.topic(topics.alerts, **raw))

    batch = settings.consumer

    # Concurrency 1: Faust may commit past an in-flight message with more
    # (faust-streaming#606), and per-partition order is what windows rely on.
    # take_events acks a batch only after the loop body, i.e. after the flush; a stop
    # mid-batch would ack it unflushed, so the batch is finished first.
    @app.agent(source, name="kohta-process", concurrency=1)
    async def process(stream: faust.StreamT) -> None:
        async for events in stream.take_events(batch.batch_messages, within=batch.batch_wait_seconds):
            await finish_then_cancel(processor.handle_batch([event.message for event in events]))

    # stream.events() acks an event in a finally as well: the same guard.
    @app.agent(app.topic(topics.control, **raw), name="kohta-control", concurrency=1)
    async def control(stream: faust.StreamT) -> None:
        async for event in stream.events():
            await finish_then_cancel(processor.handle_control(event.message))

    async def publish_one(message: Message) -> None:
        batch_holes = holes.batch()
        if not batch_holes.sets_aside(message):
            await publisher.handle(message)
            incidents.flush()
        await batch_holes.read_again()

    @app.agent(alert_events, name="kohta-publish", concurrency=1)
    async def publish(stream: faust.StreamT) -> None:
        async for event in stream.events():
            await finish_then_cancel(publish_one(event.message))

    # Three timers, so that none of them waits on another's work: a lag reading
    # (aiokafka's position() waits for a partition to have one) or a read again from
    # a hole must not hold up the wall-clock close.
    @app.timer(interval=settings.windows.tick_interval_seconds)
    async def tick() -> None:
        # Each worker ticks the partitions it owns, through the topic, so that the
        # close runs inside that partition's stream and its table writes land in
        # that partition's changelog.
        payload = internal.encode_tick(time.time())
        for tp in app.assignor.assigned_actives():
            if tp.topic == topics.repartition:
                await sinks.repartition.send(value=payload, partition=tp.partition)

    @app.timer(interval=settings.windows.tick_interval_seconds)
    async def read_holes_again() -> None:
        await holes.read_overdue_again()

    @app.timer(interval=settings.windows.tick_interval_seconds)
    async def measure_lag() -> None:
        for tp in app.assignor.assigned_actives():
            if tp.topic in (topics.touchpoints, topics.repartition):
                await record_lag(app.consumer, telemetry, tp, timeout=settings.windows.tick_interval_seconds)

    @app.on_partitions_revoked.connect
    async def forget_revoked(sender: faust.App, revoked: set, **_: object) -> None:
        # The clock caches and gauges of a partition another worker now owns would go
        # stale. (Faust revokes every partition at a rebalance; those this worker keeps
        # are reported again from the next tick, and their incidents once restored.)
        for tp in revoked:
            app.offset_continuity.forget(tp)  # due again from the committed offset
            if tp.topic == topics.touchpoints:
                engine.forget_partition(tp.partition)
            if tp.topic in (topics.touchpoints, topics.repartition):
                telemetry.forget_partition(tp.topic, tp.partition)
            if tp.topic == topics.alert_events:
                publisher.forget_incidents()

    @incidents.table.on_recover
    async def export_incidents() -> None:
        incidents.reindex()
        # After each rebalance the owner of the alert-events partition exports the
        # incidents of the open alerts from the restored table; the other workers none.
        if any(tp.topic == topics.alert_events for tp in app.assignor.assigned_actives()):
            publisher.export_incidents()
        else:
            publisher.forget_incidents()

    @app.page("/metrics")
    async def metrics(web: faust.web.View, request: faust.web.Request) -> faust.web.Response:
        # aiohttp refuses a charset inside content_type; the text format is UTF-8 anyway.
        return web.bytes(generate_latest(registry), content_type="text/plain; version=0.0.4")

    return app
