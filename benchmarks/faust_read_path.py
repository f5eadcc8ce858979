"""Faust's per-message read path, stock and as kohta's worker sets it up, in-process.

Times, with ``timeit`` on one app each (no broker), the steps Faust takes for every
message before the agent sees it that kohta changed:

- ``App.create_event``: stock Faust reads ``conf.Event`` through its settings
  registry for each message; kohta's app (``streams.transport.App``) looks it up once;
- the topic schema's decode of a message with a raw key and value, which ends in
  ``create_event``: stock Faust goes through the serializer registry;
  ``streams.codecs.RawSchema`` hands the bytes over;
- the sensors called per message (message in, stream event in and out, message out):
  stock Faust's Monitor keeps statistics; kohta's (``streams.monitor``) only records
  when each partition's stream last took an event, unless ``web_debug_endpoints`` is on.

    python benchmarks/faust_read_path.py [--number 200000]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import timeit
from collections.abc import Callable

import faust
from faust.types import TP
from faust.types.tuples import Message
from prometheus_client import CollectorRegistry

from streams.app import create_app
from streams.codecs import RawSchema
from streams.settings import KohtaSettings


def _per_call_us(call: Callable[[], object], number: int) -> float:
    return min(timeit.repeat(call, number=number, repeat=3)) / number * 1e6


def _decode_us(app: faust.App, schema: faust.Schema, message: Message, number: int) -> float:
    decode = schema.compile(app)

    async def many() -> None:
        for _ in range(number):
            await decode(message)

    loop = asyncio.new_event_loop()
    try:
        return _per_call_us(lambda: loop.run_until_complete(many()), 1) / number
    finally:
        loop.close()


class _TaskOwner:
    """Stands in for the agent's task: anything the Monitor can hold a weak reference to."""


def _sensors_us(app: faust.App, message: Message, number: int) -> float:
    sensors, tp = app.sensors, TP(message.topic, message.partition)
    stream = app.topic(message.topic).stream()
    stream.task_owner = _TaskOwner()  # an agent's task in the worker; the Monitor keys on it
    event = app.create_event(message.key, message.value, None, message)

    def one_message() -> None:
        sensors.on_message_in(tp, message.offset, message)
        state = sensors.on_stream_event_in(tp, message.offset, stream, event)
        sensors.on_stream_event_out(tp, message.offset, stream, event, state)
        sensors.on_message_out(tp, message.offset, message)

    return _per_call_us(one_message, number)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--number", type=int, default=200_000, help="calls per timing (best of 3)")
    number = parser.parse_args().number
    message = Message("kohta.touchpoints", 0, 41, 0.0, 0, None, b"web", b'{"channel": "web"}', None)
    with tempfile.TemporaryDirectory() as data_dir:
        stock = faust.App("bench-stock", datadir=data_dir, store="memory://")
        kohta = create_app(KohtaSettings(data_dir=data_dir), CollectorRegistry())
        for app in (stock, kohta):
            list(app.on_init_dependencies())  # where Faust adds its Monitor to the sensors
        rows = [
            ("create_event (part of the decode below)", _per_call_us(lambda: stock.create_event(b"k", b"v", None, message), number),
             _per_call_us(lambda: kohta.create_event(b"k", b"v", None, message), number)),
            ("schema decode, raw key and value",
             _decode_us(stock, faust.Schema(key_serializer="raw", value_serializer="raw"), message, number),
             _decode_us(kohta, RawSchema(), message, number)),
            ("sensors per message (in, event in/out, out)", _sensors_us(stock, message, number),
             _sensors_us(kohta, message, number)),
        ]
    print(f"Faust's read path per message, µs (best of 3 x {number:,} calls)")
    print(f"| {'step':<44} | {'stock Faust':>11} | {'kohta':>7} |")
    print(f"|{'-' * 46}|{'-' * 13}|{'-' * 9}|")
    for name, stock_us, kohta_us in rows:
        print(f"| {name:<44} | {stock_us:>11.2f} | {kohta_us:>7.2f} |")
    saved = sum(stock_us - kohta_us for _, stock_us, kohta_us in rows[1:])  # the decode includes create_event
    print(f"saved per message (decode and sensors): {saved:.2f} µs")


if __name__ == "__main__":
    main()
