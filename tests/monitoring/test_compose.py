"""docker-compose.yml, checked without Docker: the files it uses exist, and the names
and ports that Prometheus, Grafana and the workers use to find each other agree."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.monitoring import dashboards
from tests.monitoring.stack import PROMETHEUS_CONFIG, REPO, load_yaml, worker_job

COMPOSE = load_yaml(REPO / "docker-compose.yml")
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
KOHTA = load_yaml(REPO / "config" / "kohta.yaml")
PROMETHEUS = load_yaml(PROMETHEUS_CONFIG)

# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?err}, $NAME; $$ is a literal $.
_INTERPOLATION = re.compile(r"\$\$|\$\{\w+(?::?-(?P<default>[^}]*)|:?\?[^}]*)?\}|\$\w+")


def interpolate(value: str) -> str:
    """The value with Compose's variables at their defaults (as with an empty environment)."""
    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        return match.group("default") or ""

    return _INTERPOLATION.sub(replace, value)


def bind_mounts(service: dict[str, Any]) -> list[tuple[Path, str]]:
    """(host path, container path) of the service's bind mounts (named volumes left out)."""
    mounts = []
    for volume in service.get("volumes", []):
        source, target = interpolate(volume).split(":")[:2]
        if source.startswith((".", "/")):
            mounts.append(((REPO / source).resolve(), target))
    return mounts


def host_ports(service: dict[str, Any]) -> list[str]:
    return [interpolate(str(p)).rsplit(":", 1)[0] for p in service.get("ports", []) if ":" in str(p)]


def container_port(service: dict[str, Any], default: int) -> int:
    """The port a server listens on in its container, from --web.listen-address if set."""
    for arg in service.get("command", []) or []:
        if isinstance(arg, str) and arg.startswith("--web.listen-address="):
            return int(arg.rsplit(":", 1)[1])
    return default


def host_and_port(address: str) -> tuple[str, int]:
    host, port = address.rsplit(":", 1)
    return host, int(port)


def test_the_stack_has_its_services():
    assert {"kafka", "topics", "worker", "simulator", "prometheus", "alertmanager", "grafana"} <= SERVICES.keys()
    assert SERVICES["simulator"].get("profiles") == ["simulator"]
    assert all("profiles" not in s for n, s in SERVICES.items() if n != "simulator")


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_files_the_service_uses_exist(name: str):
    service = SERVICES[name]
    assert "build" in service or "image" in service
    if "build" in service:
        build = service["build"]
        context = REPO / (build if isinstance(build, str) else build.get("context", "."))
        dockerfile = build.get("dockerfile", "Dockerfile") if isinstance(build, dict) else "Dockerfile"
        assert (context / dockerfile).is_file(), f"{name}: no {dockerfile} in {context}"
    for source, target in bind_mounts(service):
        assert source.exists(), f"{name}: {source} (mounted at {target}) does not exist"
        looks_like_file = Path(target).suffix in {".yml", ".yaml", ".json"}
        assert source.is_file() == looks_like_file, f"{name}: {source} vs {target}"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_dependencies_are_services(name: str):
    depends = SERVICES[name].get("depends_on", [])
    assert set(depends) <= SERVICES.keys()


def test_worker_scales():
    # `docker compose up --scale worker=3`: no fixed name, no host port to collide on.
    for name in ("worker", "simulator"):
        assert "container_name" not in SERVICES[name], name
        assert not SERVICES[name].get("ports"), f"{name} must not publish host ports"
    assert str(KOHTA["web_port"]) in [str(p) for p in SERVICES["worker"]["expose"]]


def test_published_host_ports_do_not_collide():
    published = [port for service in SERVICES.values() for port in host_ports(service)]
    assert len(published) == len(set(published)), published


def test_prometheus_scrapes_the_worker_service_on_its_web_port():
    job = worker_job(PROMETHEUS)
    discovered = [
        (name, sd["port"]) for sd in job.get("dns_sd_configs", []) for name in sd["names"]
    ] + [host_and_port(t) for sc in job.get("static_configs", []) for t in sc["targets"]]
    assert discovered, "the kohta job has no targets"
    for host, port in discovered:
        assert host in ("worker", "tasks.worker"), host  # the compose service (tasks.* on Swarm)
        assert port == KOHTA["web_port"]
    # A-record discovery: one target per replica of the scaled service.
    assert all(sd.get("type") == "A" for sd in job.get("dns_sd_configs", []))


def test_every_scrape_and_alerting_target_names_a_service():
    targets = [t for job in PROMETHEUS["scrape_configs"] for sc in job.get("static_configs", [])
               for t in sc["targets"]]
    targets += [t for am in PROMETHEUS["alerting"]["alertmanagers"] for sc in am["static_configs"]
                for t in sc["targets"]]
    defaults = {"prometheus": 9090, "alertmanager": 9093}
    for target in targets:
        host, port = host_and_port(target)
        if host == "localhost":  # Prometheus scraping itself
            assert port == container_port(SERVICES["prometheus"], 9090)
            continue
        assert host in SERVICES, target
        assert port == container_port(SERVICES[host], defaults.get(host, port)), target


def test_prometheus_gets_its_config_and_rules():
    service = SERVICES["prometheus"]
    config_arg = next(a for a in service["command"] if a.startswith("--config.file="))
    config_in_container = config_arg.split("=", 1)[1]
    mounts = dict((target, source) for source, target in bind_mounts(service))
    config_dir = Path(config_in_container).parent.as_posix()
    assert mounts.get(config_dir) == PROMETHEUS_CONFIG.parent, mounts
    # rule_files are relative to the config file, so they resolve the same in the container.
    for pattern in PROMETHEUS["rule_files"]:
        assert not pattern.startswith("/"), pattern
        assert list(PROMETHEUS_CONFIG.parent.glob(pattern)), pattern


def test_alertmanager_gets_the_repository_config_by_default():
    mounts = {target: source for source, target in bind_mounts(SERVICES["alertmanager"])}
    config_arg = next(a for a in SERVICES["alertmanager"]["command"] if a.startswith("--config.file="))
    assert mounts[config_arg.split("=", 1)[1]] == REPO / "config" / "alertmanager" / "alertmanager.yml"


def test_grafana_datasource_and_dashboards_match_the_mounts():
    source = dashboards.provisioned_datasource()
    url = re.match(r"https?://(?P<host>[\w.-]+):(?P<port>\d+)", source["url"])
    assert url, source["url"]
    assert url["host"] in SERVICES
    assert int(url["port"]) == container_port(SERVICES[url["host"]], 9090)

    mounts = {target: source for source, target in bind_mounts(SERVICES["grafana"])}
    assert mounts["/etc/grafana/provisioning/datasources"] == dashboards.DATASOURCES.parent
    assert mounts["/etc/grafana/provisioning/dashboards"] == dashboards.DASHBOARD_PROVIDERS.parent
    providers = yaml.safe_load(dashboards.DASHBOARD_PROVIDERS.read_text())["providers"]
    for provider in providers:
        assert mounts[provider["options"]["path"]] == dashboards.DASHBOARD_DIR
    home = SERVICES["grafana"]["environment"].get("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH")
    if home:
        directory, file = home.rsplit("/", 1)
        assert (mounts[directory] / file).is_file(), home


def test_topics_match_the_kohta_config_and_partitions_agree():
    script = "\n".join(SERVICES["topics"]["command"])
    for topic in ("touchpoints", "repartition", "alerts", "dead_letter"):
        assert f"create {KOHTA['topics'][topic]} " in script, topic
    partitions = SERVICES["topics"]["environment"]["PARTITIONS"]
    worker_partitions = SERVICES["worker"]["environment"]["KOHTA_TOPICS__PARTITIONS"]
    assert partitions == worker_partitions == "${KOHTA_PARTITIONS:-4}"
    assert interpolate(partitions) == str(KOHTA["topics"]["partitions"])
    assert SERVICES["worker"]["depends_on"]["topics"]["condition"] == "service_completed_successfully"


def test_broker_security_comes_from_the_environment():
    for name in ("worker", "simulator"):
        environment = SERVICES[name]["environment"]
        for key in ("PROTOCOL", "SASL_MECHANISM", "SASL_USERNAME", "SASL_PASSWORD", "CA_FILE"):
            # No value in the file: passed through from the environment when set there.
            assert environment[f"KOHTA_SECURITY__{key}"] is None, (name, key)
        assert interpolate(environment["KOHTA_BROKER"]) == "kafka://kafka:9092"


def strings(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [s for key, value in node.items() for s in strings(key) + strings(value)]
    if isinstance(node, list):
        return [s for item in node for s in strings(item)]
    return [node] if isinstance(node, str) else []


def test_every_dollar_is_a_compose_variable_or_escaped():
    # A bare $x would be Compose's variable, not the shell's: scripts must write $$x.
    for value in strings(COMPOSE):
        rest = re.sub(r"\$\$|\$\{\w+(:?[-?][^}]*)?\}", "", value)
        assert "$" not in rest, value
