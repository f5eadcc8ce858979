"""Where a changelog partition really ends, for Faust's table recovery.

Faust's recovery reads each changelog partition up to the end offset the broker
reports (ListOffsets). Tansu 0.6.0, the embedded broker, reports the last producer
batch's *base* offset + 1, so recovery read only the first record of the last batch
and lost the rest (``tests/integration/test_restart.py`` counted 29 of
30 events). A fetch's response carries the right high watermark, though: after
producing batches of 1, 5 and 7 records, ListOffsets said 7 and a fetch from offset
6 returned offsets 6-12 with a high watermark of 13
(``tests/integration/test_log_end.py``).

So before recovery each reported end is checked by fetching from just before it,
and the higher of the two is used. On Apache Kafka the two agree and the check costs
one small fetch per changelog partition per rebalance. Without it the producer had to
write every record as a batch of its own (``producer.max_batch_bytes: 1``), one
produce round trip per changelog record.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any, TypeVar

from kafka import KafkaConsumer, TopicPartition

log = logging.getLogger(__name__)

P = TypeVar("P", bound=tuple)  # a (topic, partition) named tuple: Faust's TP or kafka-python's


def fetched_ends(
    reported: Mapping[P, int | None],
    *,
    bootstrap_servers: list[str],
    client_options: Mapping[str, Any] | None = None,
    timeout_seconds: float = 10.0,
) -> dict[P, int | None]:
    """``reported`` with each end raised to the high watermark a fetch from just before
    it returns (blocking: run it in a thread)."""
    probed = {tp: end for tp, end in reported.items() if end is not None and end > 0}
    ends = dict(reported)
    if not probed:
        return ends
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap_servers, group_id=None, enable_auto_commit=False,
        client_id="kohta-log-end", **(client_options or {}),
    )
    try:
        by_kafka = {TopicPartition(tp[0], tp[1]): tp for tp in probed}
        consumer.assign(list(by_kafka))
        for ktp, tp in by_kafka.items():
            consumer.seek(ktp, probed[tp] - 1)
        waiting, deadline = set(by_kafka), time.monotonic() + timeout_seconds
        while waiting and time.monotonic() < deadline:
            consumer.poll(timeout_ms=200)
            for ktp in list(waiting):
                highwater = consumer.highwater(ktp)
                if highwater is not None:
                    waiting.discard(ktp)
                    tp = by_kafka[ktp]
                    ends[tp] = max(probed[tp], highwater)
        if waiting:
            log.warning("no fetch answer for %d changelog partitions within %.0f s: their reported ends are used",
                        len(waiting), timeout_seconds)
    finally:
        consumer.close()
    raised = {f"{tp[0]}:{tp[1]}": (probed[tp], ends[tp]) for tp in probed if ends[tp] != probed[tp]}
    if raised:
        log.info("changelog ends past the reported ones (reported, fetched): %s", raised)
    return ends
