"""The monitoring stack for tests: the Prometheus and Alertmanager tools, test copies
of the repository's configs, the servers as processes, and a webhook receiver.

The test copies are derived from the committed files (config/prometheus,
config/alertmanager) by changing only what a test must: addresses, paths and
timings. Everything else (jobs, rules, routes, receivers) is what production runs.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from streams.broker import terminate

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "config"
PROMETHEUS_CONFIG = CONFIG / "prometheus" / "prometheus.yml"
RULES_DIR = CONFIG / "prometheus" / "rules"
RULES = RULES_DIR / "kohta.rules.yml"
RULE_TESTS = CONFIG / "prometheus" / "tests" / "kohta.rules.test.yml"
ALERTMANAGER_CONFIG = CONFIG / "alertmanager" / "alertmanager.yml"
WORKER_JOB = "kohta"

_INSTALL_HINT = (
    "run `make monitoring-tools` (installs the Debian packages prometheus and "
    "prometheus-alertmanager, which bring promtool and amtool)"
)


# --- tools -------------------------------------------------------------------------


def tool(*names: str) -> str:
    """The path of the first of ``names`` on PATH; fails the test (never skips) if none is."""
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    pytest.fail(f"{' or '.join(names)} not found on PATH: {_INSTALL_HINT}", pytrace=False)


def alertmanager_binary() -> str:
    # Debian names the server prometheus-alertmanager; upstream tarballs, alertmanager.
    return tool("prometheus-alertmanager", "alertmanager")


def run(*args: str | Path, ok: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a tool; with ``ok``, fail the test with its output unless it exits 0."""
    command = [str(a) for a in args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if ok and done.returncode != 0:
        pytest.fail(
            f"{' '.join(command)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}", pytrace=False
        )
    return done


# --- test copies of the configs ----------------------------------------------------


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def worker_job(config: dict[str, Any]) -> dict[str, Any]:
    jobs = [job for job in config["scrape_configs"] if job["job_name"] == WORKER_JOB]
    assert len(jobs) == 1, f"prometheus.yml needs exactly one scrape job {WORKER_JOB!r}"
    return jobs[0]


def write_prometheus_config(
    path: Path, *, worker: str, alertmanager: str, rules: Path, interval: str = "1s"
) -> Path:
    """prometheus.yml with the kohta job scraping ``worker`` (host:port) instead of the
    compose service, ``rules`` instead of rules/*.yml, and alerts sent to ``alertmanager``."""
    config = load_yaml(PROMETHEUS_CONFIG)
    config["global"].update(scrape_interval=interval, evaluation_interval=interval, scrape_timeout=interval)
    config["rule_files"] = [str(rules)]
    config["alerting"]["alertmanagers"] = [{"static_configs": [{"targets": [alertmanager]}]}]
    job = worker_job(config)
    for discovery in [key for key in job if key.endswith("_sd_configs")]:
        del job[discovery]
    job["static_configs"] = [{"targets": [worker]}]
    config["scrape_configs"] = [job]  # the others name compose services
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def write_rules(path: Path, *, cx_anomaly_for: str = "1s") -> Path:
    """The rules with KohtaCXAnomaly's `for` shortened, so that a test need not wait a minute."""
    rules = load_yaml(RULES)
    changed = 0
    for group in rules["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") == "KohtaCXAnomaly":
                rule["for"] = cx_anomaly_for
                changed += 1
    assert changed == 1, "kohta.rules.yml should define KohtaCXAnomaly once"
    path.write_text(yaml.safe_dump(rules, sort_keys=False))
    return path


def write_alertmanager_config(path: Path, *, webhook_url: str, wait: str = "1s") -> Path:
    """alertmanager.yml with every webhook posting to ``webhook_url`` and short group timers."""
    config = load_yaml(ALERTMANAGER_CONFIG)
    webhooks = 0
    for receiver in config["receivers"]:
        for webhook in receiver.get("webhook_configs", []):
            webhook["url"] = webhook_url
            webhooks += 1
    assert webhooks, "alertmanager.yml has no webhook receiver"

    def shorten(route: dict[str, Any]) -> None:
        for key in ("group_wait", "group_interval"):
            if key in route or route is config["route"]:
                route[key] = wait
        for child in route.get("routes", []):
            shorten(child)

    shorten(config["route"])
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


# --- servers -----------------------------------------------------------------------


def http_get(url: str, timeout: float = 5.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read()


def wait_until(
    check: Callable[[], Any], *, timeout: float, what: str, interval: float = 0.5,
    explain: Callable[[], str] = lambda: "",
) -> Any:
    """Call ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
        except (OSError, urllib.error.URLError, ValueError):
            result = None
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout:.0f} s\n{explain()}", pytrace=False)
        time.sleep(interval)


@dataclass
class Server:
    """A monitoring server run as a child process, logging to a file."""

    name: str
    command: list[str]
    port: int
    log_path: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def start(self, timeout: float = 30.0) -> Server:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT)

        def ready() -> bool:
            if self.process is not None and self.process.poll() is not None:
                pytest.fail(f"{self.name} exited {self.process.returncode}:\n{self.log_tail()}", pytrace=False)
            return http_get(f"{self.url}/-/ready") is not None

        wait_until(ready, timeout=timeout, what=f"{self.name} ready", explain=self.log_tail)
        return self

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        terminate(self.process, timeout=10)


def prometheus_server(directory: Path, port: int, config: Path) -> Server:
    return Server(
        "prometheus",
        [
            tool("prometheus"),
            f"--config.file={config}",
            f"--storage.tsdb.path={directory / 'prometheus-data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--web.enable-lifecycle",
        ],
        port,
        directory / "prometheus.log",
    )


def alertmanager_server(directory: Path, port: int, config: Path) -> Server:
    return Server(
        "alertmanager",
        [
            alertmanager_binary(),
            f"--config.file={config}",
            f"--storage.path={directory / 'alertmanager-data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",  # empty: no gossip cluster, no extra port
        ],
        port,
        directory / "alertmanager.log",
    )


class PrometheusAPI:
    def __init__(self, url: str) -> None:
        self.url = url

    def query(self, expr: str) -> list[dict[str, Any]]:
        """The instant vector (or scalar, as one sample) of ``expr`` now."""
        body = json.loads(http_get(f"{self.url}/api/v1/query?{urllib.parse.urlencode({'query': expr})}"))
        assert body["status"] == "success", body
        data = body["data"]
        if data["resultType"] == "scalar":
            return [{"metric": {}, "value": data["result"]}]
        return data["result"]

    def targets(self) -> list[dict[str, Any]]:
        return json.loads(http_get(f"{self.url}/api/v1/targets"))["data"]["activeTargets"]

    def alerts(self) -> list[dict[str, Any]]:
        return json.loads(http_get(f"{self.url}/api/v1/alerts"))["data"]["alerts"]


# --- the on-call webhook -------------------------------------------------------------


class WebhookReceiver:
    """A local HTTP server that keeps every Alertmanager webhook payload posted to it."""

    def __init__(self) -> None:
        self.payloads: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._lock:
                    receiver.payloads.append(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/alerts"

    def alerts(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """(receiver name, alert) for every alert of every payload so far."""
        with self._lock:
            payloads = list(self.payloads)
        for payload in payloads:
            for alert in payload["alerts"]:
                yield payload["receiver"], alert

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
