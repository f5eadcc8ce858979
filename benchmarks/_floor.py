"""The floor: a bare aiokafka consumer that reads a topic and parses every value (orjson).

No consumer group (partitions assigned by hand, read from the start), so there is no
join to wait for: the clock starts with the first fetch. The topic is read again
from the start until at least 2 s have passed. Prints one JSON line: messages,
events, first/last wall times and the process CPU seconds in between.

    python benchmarks/_floor.py BOOTSTRAP TOPIC MESSAGES
"""

from __future__ import annotations

import asyncio
import os
import sys
import time

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

MIN_SECONDS = 2.0


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


async def main(bootstrap: str, topic: str, expected: int) -> dict:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest",
        fetch_max_wait_ms=100, max_partition_fetch_bytes=8 << 20, fetch_max_bytes=64 << 20,
    )
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic)
        while not partitions:
            await asyncio.sleep(0.1)
            await consumer._client.force_metadata_update()
            partitions = consumer.partitions_for_topic(topic)
        consumer.assign([TopicPartition(topic, p) for p in sorted(partitions)])
        await consumer.seek_to_beginning()
        loads = orjson.loads
        messages = events = passes = 0
        # No group join to exclude: the clock starts at the first fetch. The topic is read
        # again from the start until MIN_SECONDS have passed, so that a small topic still
        # gives a stable rate.
        first, first_cpu = time.time(), _cpu()
        while True:
            read = 0
            while read < expected:
                batches = await consumer.getmany(timeout_ms=1000, max_records=2_000)
                for records in batches.values():
                    for record in records:
                        doc = loads(record.value)
                        events += len(doc) if doc.__class__ is list else 1
                    read += len(records)
            messages += read
            passes += 1
            if time.time() - first >= MIN_SECONDS:
                break
            await consumer.seek_to_beginning()
        last = time.time()
        return {"messages": messages, "events": events, "first": first, "last": last, "passes": passes,
                "timed_messages": messages, "timed_events": events, "cpu": _cpu() - first_cpu}
    finally:
        await consumer.stop()


if __name__ == "__main__":
    result = asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
    print(orjson.dumps(result).decode(), flush=True)
