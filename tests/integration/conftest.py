"""The embedded Kafka-protocol broker (Tansu) for the whole session, and workers on it."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from streams.broker import EmbeddedBroker, free_port
from tests.integration.kafka_helpers import WorkerProcess, write_config

_worker_ids = itertools.count()


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBroker]:
    log = tmp_path_factory.mktemp("broker") / "tansu.log"
    with EmbeddedBroker(log_path=log) as embedded:
        yield embedded


def base_config(broker: EmbeddedBroker, name: str, web_port: int) -> dict[str, Any]:
    """A small worker config with its own group and topics, so tests cannot disturb each other."""
    return {
        "app_id": f"kohta-test-{name}",
        "broker": broker.url,
        "web_port": web_port,
        "channels": ["webshop", "chat", "phone"],
        "topics": {
            "touchpoints": f"{name}.touchpoints",
            "repartition": f"{name}.repartition",
            "alerts": f"{name}.alerts",
            "dead_letter": f"{name}.deadletter",
            "control": f"{name}.control",
            "alert_events": f"{name}.alert-events",
            "partitions": 2,
        },
        "windows": {"size_seconds": 60, "allowed_lateness_seconds": 60, "idle_timeout_seconds": 30},
        # A stalled partition is told in the worker's log (by Faust: which part of its
        # path stopped) before a test gives up waiting on it (90 s). Faust counts from
        # the worker's start, group join and recovery included: at 20 s a second
        # worker's slow join was reported as a stream that had not started.
        "consumer": {"stall_log_seconds": 60},
        # The simple level detector: these tests are about the pipeline, and its
        # behaviour on a few synthetic windows is easy to reason about.
        "detector": {"model": "level", "threshold": 4.0, "warmup": 8, "fading_factor": 0.1},
        "alerts": {"open_after_windows": 1, "resolve_after_windows": 2},
        "metrics": [
            {"name": "conversion_rate", "kind": "ratio", "numerator": {"type": ["conversion"]},
             "denominator": {"type": ["visit"]}, "channels": ["webshop"], "bad_direction": "down"},
            {"name": "contact_volume", "kind": "count", "where": {"type": ["contact"]},
             "channels": ["chat", "phone"], "by_touchpoint": True},
        ],
    }


@pytest.fixture
def start_worker(
    broker: EmbeddedBroker, tmp_path: Path
) -> Iterator[Callable[..., WorkerProcess]]:
    """Start a worker with ``base_config`` changed by a callback; stopped after the test."""
    started: list[WorkerProcess] = []

    def start(adjust: Callable[[dict[str, Any]], None] = lambda c: None) -> WorkerProcess:
        name = f"t{next(_worker_ids)}-{tmp_path.name[:20]}".replace("_", "-").lower()
        port = free_port()
        config = base_config(broker, name, port)
        adjust(config)
        worker = WorkerProcess(
            write_config(tmp_path / f"{name}.yaml", config), tmp_path / f"{name}.log", port, config
        )
        started.append(worker)
        return worker.start()

    yield start
    for worker in started:
        worker.stop()
