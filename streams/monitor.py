"""Faust's Monitor sensor, fed per message only what Faust itself reads from it.

Faust calls its Monitor for every message in, stream event in and out, ack, send and
table access, to keep statistics that only its stats page shows. kohta's figures are
on ``/metrics`` (its own registry), so the worker's Monitor skips that work. It keeps
one thing: the time each partition's stream last took an event. Faust's consumer
reads that (``verify_event_path``) to log that a stream has stopped processing. Left
unfed, it would log that error for every lagging partition once
``stream_processing_timeout`` has passed since the start.

With ``web_debug_endpoints`` on, the worker uses Faust's full Monitor instead.
"""

from __future__ import annotations

from time import monotonic
from typing import Any

from faust.sensors import Monitor
from faust.types import TP


class StreamProgressMonitor(Monitor):
    """Records when each partition's stream last took an event; keeps no statistics.

    >>> monitor = StreamProgressMonitor()
    >>> monitor.on_stream_event_in(TP("kohta.touchpoints", 2), 41, None, None)
    >>> list(monitor.stream_inbound_time), monitor.events_total
    ([TP(topic='kohta.touchpoints', partition=2)], 0)
    """

    def on_stream_event_in(self, tp: TP, offset: int, stream: Any, event: Any) -> None:
        self.stream_inbound_time[tp] = monotonic()

    def on_message_in(self, tp: TP, offset: int, message: Any) -> None:
        pass

    def on_stream_event_out(self, tp: TP, offset: int, stream: Any, event: Any, state: Any = None) -> None:
        pass

    def on_message_out(self, tp: TP, offset: int, message: Any) -> None:
        pass

    def on_table_get(self, table: Any, key: Any) -> None:
        pass

    def on_table_set(self, table: Any, key: Any, value: Any) -> None:
        pass

    def on_table_del(self, table: Any, key: Any) -> None:
        pass

    def on_send_initiated(self, producer: Any, topic: str, message: Any, keysize: int, valsize: int) -> None:
        pass

    def on_send_completed(self, producer: Any, state: Any, metadata: Any) -> None:
        pass
