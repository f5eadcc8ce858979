"""Consumer lag telemetry never stops the worker (streams.lag.record_lag)."""

from __future__ import annotations

import asyncio

from faust.types import TP
from prometheus_client import CollectorRegistry

from streams.lag import record_lag
from streams.telemetry import PipelineTelemetry


class Consumer:
    def __init__(self, highwater: int | None, position: int | None, refuse: bool = False,
                 no_position: bool = False) -> None:
        self._highwater, self._position, self._refuse = highwater, position, refuse
        self._no_position = no_position

    def highwater(self, tp: TP) -> int | None:
        if self._refuse:
            # What aiokafka does when asked mid-rebalance about a partition it does not hold.
            raise AssertionError("Partition is not assigned")
        return self._highwater

    async def position(self, tp: TP) -> int | None:
        if self._no_position:
            # aiokafka waits until a partition without a position gets one.
            await asyncio.Event().wait()
        return self._position


def _lag(consumer: Consumer) -> tuple[bool, float | None]:
    registry = CollectorRegistry()
    telemetry = PipelineTelemetry(registry, channels=[], max_discovered_channels=5)
    recorded = asyncio.run(record_lag(consumer, telemetry, TP("kohta.touchpoints", 1), timeout=0.05))
    value = registry.get_sample_value("kohta_consumer_lag_messages", {"topic": "kohta.touchpoints", "partition": "1"})
    return recorded, value


def test_lag_is_the_end_offset_minus_the_position():
    assert _lag(Consumer(highwater=120, position=100)) == (True, 20)


def test_a_position_past_a_stale_end_offset_is_no_lag():
    assert _lag(Consumer(highwater=100, position=104)) == (True, 0)


def test_a_partition_the_consumer_does_not_hold_yet_is_skipped_not_raised():
    assert _lag(Consumer(highwater=120, position=100, refuse=True)) == (False, None)


def test_unknown_offsets_are_skipped():
    assert _lag(Consumer(highwater=None, position=100)) == (False, None)


def test_a_partition_waiting_for_a_position_is_skipped_not_waited_for():
    assert _lag(Consumer(highwater=120, position=100, no_position=True)) == (False, None)
