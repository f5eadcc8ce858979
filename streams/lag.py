"""Consumer lag per owned partition, for the ``kohta_consumer_lag_messages`` gauge."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from streams.telemetry import PipelineTelemetry

log = logging.getLogger(__name__)


async def record_lag(consumer: Any, telemetry: PipelineTelemetry, tp: Any, timeout: float = 1.0) -> bool:
    """Set the lag of ``tp`` (a Faust TP) from ``consumer``; False if it could not tell.

    A timer calls this beside rebalances: the assignor may already list a partition
    the consumer has not been given yet, or has just revoked, and aiokafka then
    refuses (an AssertionError, "Partition is not assigned"). An exception in a
    Faust timer crashes the whole worker, so the lag waits for the next reading
    instead. aiokafka's ``position()`` waits for a partition without a position
    until it has one, so it is given at most ``timeout`` seconds.
    """
    try:
        highwater = consumer.highwater(tp)
        position = await asyncio.wait_for(consumer.position(tp), timeout)
    except Exception as exc:  # noqa: BLE001 - telemetry must never stop the worker
        log.debug("lag of %s:%s not known now: %s", tp.topic, tp.partition, type(exc).__name__)
        return False
    if highwater is None or position is None:
        return False
    telemetry.consumer_lag.labels(topic=tp.topic, partition=str(tp.partition)).set(max(0, highwater - position))
    return True
