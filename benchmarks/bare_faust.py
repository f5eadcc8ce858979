"""A bare Faust agent that only counts events: the reference kohta is compared with.

Its own app and consumer group, on the same broker, with kohta's consumer settings
(session/rebalance timeouts, heartbeat, commit interval, producer batch size) and
the same topic. Each message value is parsed with orjson to count its events (a
JSON array counts its elements). Nothing else happens per message.

Modes:

- ``take``: ``stream.take_events(batch_messages, within=batch_wait_seconds)``, the
  loop kohta's agent uses (acks each batch after the body);
- ``iter``: ``async for event in stream.events()``, one message at a time.

With ``kohta-app`` after the mode, the agent runs on kohta's app class
(``streams.transport.App``, with Faust's fetch wait), monitor
(``streams.monitor.StreamProgressMonitor``) and topic schema
(``streams.codecs.RawSchema``): no statistics kept per message, the event class looked
up once, and keys and values handed over as bytes. That
is the reference for what kohta's own work costs on the same Faust foundation.

When ``EXPECTED`` events are counted it writes one JSON line to ``OUT``: wall times of
the first and last message, the events counted after the first batch, and the
process CPU seconds in between. The harness then stops the process.

    python benchmarks/bare_faust.py BROKER_URL TOPIC PARTITIONS GROUP EXPECTED OUT [take|iter] [kohta-app]
"""

from __future__ import annotations

import os
import sys
import time
from functools import partial
from pathlib import Path

import faust
import orjson

from streams import transport
from streams.codecs import RawSchema
from streams.monitor import StreamProgressMonitor
from streams.settings import KohtaSettings


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


def build(broker: str, topic: str, partitions: int, group: str, expected: int, out: Path, mode: str,
          kohta_app: bool = False) -> faust.App:
    defaults = KohtaSettings()
    consumer = defaults.consumer
    app = (partial(transport.App, Monitor=StreamProgressMonitor) if kohta_app else faust.App)(
        group,
        broker=broker,
        store="memory://",
        datadir=str(out.parent / f"faust-{group}"),
        topic_partitions=partitions,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=consumer.session_timeout_seconds,
        broker_rebalance_timeout=consumer.rebalance_timeout_seconds,
        broker_heartbeat_interval=consumer.heartbeat_interval_seconds,
        broker_commit_interval=consumer.commit_interval_seconds,
        web_enabled=False,
    )
    source = (app.topic(topic, schema=RawSchema()) if kohta_app
              else app.topic(topic, key_serializer="raw", value_serializer="raw"))
    state = {"events": 0, "first": None, "first_cpu": 0.0, "first_events": 0, "done": False}
    loads = orjson.loads

    def count(value: bytes) -> int:
        doc = loads(value)
        return len(doc) if doc.__class__ is list else 1

    def seen(n: int) -> None:
        state["events"] += n
        if state["first"] is None:
            state["first"], state["first_cpu"], state["first_events"] = time.time(), _cpu(), state["events"]
        if state["events"] >= expected and not state["done"]:
            state["done"] = True
            result = {
                "events": state["events"], "first": state["first"], "last": time.time(),
                "timed_events": state["events"] - state["first_events"], "cpu": _cpu() - state["first_cpu"],
            }
            out.write_text(orjson.dumps(result).decode() + "\n")

    if mode == "take":

        @app.agent(source, name="bare-count", concurrency=1)
        async def bare_take(stream: faust.StreamT) -> None:
            async for events in stream.take_events(consumer.batch_messages, within=consumer.batch_wait_seconds):
                seen(sum(count(event.message.value) for event in events))

    else:

        @app.agent(source, name="bare-count", concurrency=1)
        async def bare_iter(stream: faust.StreamT) -> None:
            async for event in stream.events():
                seen(count(event.message.value))

    return app


if __name__ == "__main__":
    broker_url, topic_name, parts, group_id, wanted, out_path = sys.argv[1:7]
    loop_mode = sys.argv[7] if len(sys.argv) > 7 else "take"
    on_kohta_app = sys.argv[8:9] == ["kohta-app"]
    bare = build(broker_url, topic_name, int(parts), group_id, int(wanted), Path(out_path), loop_mode, on_kohta_app)
    sys.argv = [sys.argv[0]]  # Faust's Worker reads its own command line
    faust.Worker(bare, loglevel="info").execute_from_commandline()
