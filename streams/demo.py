"""``kohta demo``: broker, worker and simulator together, alerts printed as they arrive."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
from kafka import KafkaConsumer, TopicPartition
from rich.console import Console

from streams.admin import ensure_topics
from streams.broker import EmbeddedBroker, free_port, terminate
from streams.live import Pace, run_live
from streams.settings import KohtaSettings
from streams.simulation import Incident

# The simulated day starts at 17:00 UTC yesterday: busy evening traffic, and
# always in the past, so no event is stamped ahead of the wall clock.
_START_HOUR = 17


def demo_origin(now: datetime | None = None) -> float:
    now = now or datetime.now(UTC)
    start = (now - timedelta(days=1)).replace(hour=_START_HOUR, minute=0, second=0, microsecond=0)
    return start.timestamp()


def default_incidents(pace: Pace) -> list[Incident]:
    """A checkout outage about 50 s in, then a chat outage about 100 s in."""
    minute = 60.0
    checkout = pace.event_time(50)
    chat = pace.event_time(100)
    return [
        Incident("checkout_outage", checkout, checkout + 20 * minute),
        Incident("chat_outage", chat, chat + 15 * minute),
    ]


def format_alert(record: dict) -> str:
    """One console line: status, kind and severity, then the alert's own text."""
    status = record["status"]
    colour = {"open": "red", "update": "yellow", "resolved": "green"}.get(status, "white")
    label = status.upper() if status != "open" else f"OPEN {record.get('severity') or ''}".strip()
    kind = " target" if record.get("kind") == "target" else ""
    incident = f" [dim](incident {record['incident_id'][:8]})[/]" if record.get("incident_id") else ""
    return f"[{colour}]{label}{kind}[/] {record.get('text') or record['series']}{incident}"


def _watch_alerts(bootstrap: str, topic: str, console: Console, stop: threading.Event) -> None:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    partitions = consumer.partitions_for_topic(topic) or {0}
    consumer.assign([TopicPartition(topic, p) for p in sorted(partitions)])
    try:
        while not stop.is_set():
            for records in consumer.poll(timeout_ms=500).values():
                for message in records:
                    console.print(format_alert(orjson.loads(message.value)))
    finally:
        consumer.close()


def run_demo(
    settings: KohtaSettings,
    *,
    config: Path | None,
    duration: float,
    speed: float,
    seed: int,
    rate_scale: float,
    console: Console,
) -> None:
    workdir = Path(settings.data_dir)
    workdir.mkdir(parents=True, exist_ok=True)
    with EmbeddedBroker(log_path=workdir / "demo-broker.log") as broker:
        settings = settings.model_copy(update={"broker": broker.url})
        ensure_topics(settings)
        web_port = free_port()
        command = [sys.executable, "-m", "streams.cli", "worker", "--broker", broker.url, "--web-port", str(web_port)]
        if config is not None:
            command += ["--config", str(config)]
        worker_log = workdir / "demo-worker.log"
        with open(worker_log, "wb") as log:
            worker = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy())
        stop = threading.Event()
        watcher = threading.Thread(
            target=_watch_alerts, args=(broker.bootstrap, settings.topics.alerts, console, stop), daemon=True
        )
        watcher.start()
        pace = Pace(origin=demo_origin(), speed=speed)
        incidents = default_incidents(pace)
        console.print(f"[bold]kohta demo[/]: broker {broker.url}, worker metrics http://127.0.0.1:{web_port}/metrics")
        console.print(f"worker log: {worker_log}; {speed:g}× time, one simulated minute every {60 / speed:g} s")
        for incident in incidents:
            console.print(
                f"injected incident: {incident.kind} at simulated "
                f"{datetime.fromtimestamp(incident.start, UTC):%H:%M}–{datetime.fromtimestamp(incident.end, UTC):%H:%M} UTC "
                f"(about {pace.wall_elapsed(incident.start):.0f} s from now)"
            )
        last_report = [time.monotonic()]

        def progress(event_time: float, sent: int) -> None:
            if time.monotonic() - last_report[0] >= 10:
                last_report[0] = time.monotonic()
                console.print(
                    f"[dim]simulated {datetime.fromtimestamp(event_time, UTC):%H:%M} UTC, {sent:,} events sent[/]"
                )

        try:
            sent = run_live(
                broker.bootstrap, settings.topics.touchpoints, pace=pace, duration=duration, seed=seed,
                incidents=incidents, rate_scale=rate_scale, batch_size=20, on_progress=progress,
            )
            console.print(f"simulation done: {sent:,} events; waiting for the last windows to close")
            time.sleep(min(10.0, 3 * settings.windows.allowed_lateness_seconds / speed + 2))
        except KeyboardInterrupt:
            console.print("stopping")
        finally:
            stop.set()
            terminate(worker, timeout=15)
            watcher.join(timeout=5)
