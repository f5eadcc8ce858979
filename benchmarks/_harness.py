"""Shared pieces of the throughput benchmark: broker, topics, events, processes, /proc.

Nothing here is imported by kohta itself; ``benchmarks/throughput.py`` drives it.
"""

from __future__ import annotations

import asyncio
import math
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import yaml

REPO = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(__file__).resolve().parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from streams.broker import EmbeddedBroker, free_port, terminate  # noqa: E402
from streams.simulation import generate_events  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
# Envelopes are closed after this much event time, so that a quiet channel's
# envelope is never so old that its events come in behind the window close.
ENVELOPE_MAX_AGE_SECONDS = 60.0


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.2f}/{five:.2f}"


# --- events -------------------------------------------------------------------------


def realistic_events(n: int, *, seed: int = 1, rate_scale: float = 10.0, days_ago: int = 3) -> list[dict]:
    """``n`` simulator events from 08:00 UTC ``days_ago`` days back: daytime traffic, all in the past."""
    day = math.floor(time.time() / 86400) - days_ago
    start = day * 86400 + 8 * 3600
    out: list[dict] = []
    chunk = 600.0
    cursor = start
    while len(out) < n:
        out.extend(generate_events(cursor, cursor + chunk, seed=seed, rate_scale=rate_scale))
        cursor += chunk
        if cursor > time.time() - 3600:
            raise ValueError(f"{n} events do not fit before now; raise rate_scale")
    return out[:n]


def as_singles(events: Iterable[dict]) -> list[tuple[bytes, bytes]]:
    return [(e["channel"].encode(), orjson.dumps(e)) for e in events]


def as_envelopes(events: Iterable[dict], size: int = 100) -> list[tuple[bytes, bytes]]:
    """Per-channel JSON arrays of ``size`` events, or fewer once the oldest is
    ``ENVELOPE_MAX_AGE_SECONDS`` older than the newest (a producer's linger)."""
    open_: dict[str, list[dict]] = {}
    out: list[tuple[bytes, bytes]] = []
    for event in events:
        channel = event["channel"]
        group = open_.setdefault(channel, [])
        group.append(event)
        if len(group) >= size or event["ts"] - group[0]["ts"] >= ENVELOPE_MAX_AGE_SECONDS:
            out.append((channel.encode(), orjson.dumps(group)))
            open_[channel] = []
    out += [(channel.encode(), orjson.dumps(group)) for channel, group in open_.items() if group]
    return out


# --- broker and topics --------------------------------------------------------------


def start_broker(workdir: Path) -> EmbeddedBroker:
    return EmbeddedBroker(log_path=workdir / "tansu.log").start()


def create_topics(bootstrap: str, topics: dict[str, int]) -> None:
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="kohta-bench")
    try:
        existing = set(admin.list_topics())
        missing = [NewTopic(name, parts, 1) for name, parts in topics.items() if name not in existing]
        if missing:
            admin.create_topics(missing)
    finally:
        admin.close()


async def _produce(bootstrap: str, topic: str, messages: Sequence[tuple[bytes | None, bytes]]) -> None:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, linger_ms=20, max_batch_size=512 * 1024, acks=1, max_request_size=8 << 20
    )
    await producer.start()
    try:
        pending = []
        for key, value in messages:
            pending.append(await producer.send(topic, value=value, key=key))
            if len(pending) >= 20_000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()


def produce(bootstrap: str, topic: str, messages: Sequence[tuple[bytes | None, bytes]]) -> float:
    """Send every message (aiokafka, batched); returns the seconds it took."""
    began = time.perf_counter()
    asyncio.run(_produce(bootstrap, topic, messages))
    return time.perf_counter() - began


# --- processes ----------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (its threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def stop_process(process: subprocess.Popen | None, timeout: float = 15.0) -> None:
    terminate(process, timeout)


def python_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOHTA_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def run_script(script: str, args: list[str], log_path: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            [sys.executable, str(BENCH_DIR / script), *args],
            stdout=log, stderr=subprocess.STDOUT, env=env or python_env(), cwd=str(REPO),
        )


# --- kohta workers ------------------------------------------------------------------


def kohta_config(
    broker_url: str, name: str, web_port: int, workdir: Path, *, touchpoints: str, partitions: int = 4,
    base: Path = REPO / "config" / "kohta.yaml", **overrides: Any,
) -> dict[str, Any]:
    """The repo's default config with this run's broker, group, topics and port."""
    config = yaml.safe_load(base.read_text())
    config.update(
        app_id=f"bench-{name}",
        broker=broker_url,
        web_port=web_port,
        data_dir=str(workdir / f"data-{name}"),
    )
    config["topics"] = {
        "touchpoints": touchpoints,
        "repartition": f"{name}.repartition",
        "alerts": f"{name}.alerts",
        "dead_letter": f"{name}.deadletter",
        "control": f"{name}.control",
        "alert_events": f"{name}.alert-events",
        "partitions": partitions,
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            config[key] = {**config[key], **value}
        else:
            config[key] = value
    return config


_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)", re.M)
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def parse_metrics(exposition: str) -> list[tuple[str, dict[str, str], float]]:
    out = []
    for name, labels, value in _SAMPLE.findall(exposition):
        out.append((name, dict(_LABEL.findall(labels or "")), float(value)))
    return out


def metric_sum(samples: list[tuple[str, dict[str, str], float]], name: str, **labels: str) -> float:
    return sum(v for n, ls, v in samples if n == name and all(ls.get(k) == x for k, x in labels.items()))


@dataclass
class KohtaWorker:
    """``python -m streams.cli worker --config FILE``, exactly as ``kohta worker`` runs it.

    With ``profile_to``, it runs under ``benchmarks/_profiled_worker.py`` instead, with
    ``profiler`` ("cprofile" or "tracemalloc") writing to that path.
    """

    config: dict[str, Any]
    workdir: Path
    label: str
    profile_to: Path | None = None
    profiler: str = "cprofile"
    extra_env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def log_path(self) -> Path:
        return self.workdir / f"worker-{self.label}.log"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> KohtaWorker:
        path = self.workdir / f"worker-{self.label}.yaml"
        path.write_text(yaml.safe_dump(self.config, sort_keys=False))
        env = python_env()
        env["BENCH_PROFILER"] = self.profiler
        env.update({k: v for k, v in os.environ.items() if k.startswith("BENCH_")})
        env.update(self.extra_env)
        if self.profile_to is not None:
            command = [sys.executable, str(BENCH_DIR / "_profiled_worker.py"), str(self.profile_to), "--config", str(path)]
        else:
            command = [sys.executable, "-m", "streams.cli", "worker", "--config", str(path)]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=str(REPO))
        return self

    def wait_ready(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while b"[^Worker]: Ready" not in self.log_path.read_bytes():
            if self.process is None or self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker {self.label} did not become ready:\n{self.log_tail()}")
            time.sleep(0.1)

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def metrics(self) -> list[tuple[str, dict[str, str], float]]:
        url = f"http://127.0.0.1:{self.config['web_port']}/metrics"
        with urllib.request.urlopen(url, timeout=10) as response:
            return parse_metrics(response.read().decode())

    def assignments(self) -> int:
        """How many times this worker logged a new partition assignment (rebalances)."""
        return self.log_path.read_text(errors="replace").count("[^---Recovery]: Resuming flow")

    def stop(self) -> None:
        stop_process(self.process, timeout=30)


def new_port() -> int:
    return free_port()
