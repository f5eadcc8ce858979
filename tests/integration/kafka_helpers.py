"""Real clients for integration tests: kafka-python producers and assigned consumers,
and a kohta worker run as its own process, exactly as `kohta worker` runs it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import yaml
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from streams.broker import terminate

WORKER_READY_TIMEOUT = 90.0


def produce(bootstrap: str, topic: str, messages: Iterable[tuple[bytes | None, bytes]]) -> int:
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    count = 0
    for key, value in messages:
        producer.send(topic, key=key, value=value)
        count += 1
    producer.flush()
    producer.close()
    return count


def produce_one_batch(bootstrap: str, topic: str, records: Iterable[tuple[int, bytes | None, bytes]]) -> list[int]:
    """Send ``(partition, key, value)`` records together, so that those of a partition
    go as one producer batch; their offsets, in order."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=50)
    try:
        futures = [producer.send(topic, key=key, value=value, partition=p) for p, key, value in records]
        producer.flush()
        return [future.get(timeout=10).offset for future in futures]
    finally:
        producer.close()


class TopicReader:
    """Reads a whole topic from the start with manually assigned partitions
    (kafka-python consumer groups do not work on the embedded broker)."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        partitions = self.consumer.partitions_for_topic(topic) or {0}
        self.consumer.assign([TopicPartition(topic, p) for p in sorted(partitions)])
        self.consumer.seek_to_beginning()
        self.records: list[ConsumerRecord] = []

    def wait_for(
        self, condition: Callable[[list[ConsumerRecord]], bool], timeout: float = 60.0
    ) -> list[ConsumerRecord]:
        deadline = time.monotonic() + timeout
        while not condition(self.records):
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not met in {timeout:.0f} s; read {len(self.records)} records")
            for batch in self.consumer.poll(timeout_ms=500).values():
                self.records.extend(batch)
        return self.records

    def values(self) -> list[Any]:
        return [orjson.loads(r.value) for r in self.records]

    def close(self) -> None:
        self.consumer.close()


@dataclass
class WorkerProcess:
    config_path: Path
    log_path: Path
    web_port: int
    settings: dict[str, Any]
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self) -> WorkerProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KOHTA_")}
        seen = self.log_path.stat().st_size if self.log_path.exists() else 0
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "streams.cli", "worker", "--config", str(self.config_path)],
                stdout=log, stderr=subprocess.STDOUT, env=env,
            )
        deadline = time.monotonic() + WORKER_READY_TIMEOUT
        while b"[^Worker]: Ready" not in self.log_path.read_bytes()[seen:]:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"worker did not become ready:\n{self.log_tail()}")
            time.sleep(0.2)
        return self

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def metrics(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.web_port}/metrics", timeout=5) as response:
            assert response.status == 200
            return response.read().decode()

    def stop(self) -> None:
        terminate(self.process, timeout=20)

    def kill(self) -> None:
        """SIGKILL the worker, as a crash would: no shutdown, no last commit or flush."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def write_config(path: Path, settings: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(settings, sort_keys=False))
    return path


def metric_value(exposition: str, name: str, **labels: str) -> float | None:
    """The value of one sample in Prometheus text format, or None if absent."""
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return None
