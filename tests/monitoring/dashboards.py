"""The Grafana dashboards and provisioning, read for tests: panels, and every PromQL
expression they hold (panel targets, annotation queries, template variables)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.monitoring.stack import CONFIG

GRAFANA = CONFIG / "grafana"
DASHBOARD_DIR = GRAFANA / "dashboards"
DATASOURCES = GRAFANA / "provisioning" / "datasources" / "prometheus.yml"
DASHBOARD_PROVIDERS = GRAFANA / "provisioning" / "dashboards" / "kohta.yml"

# What Grafana would put in for the variables in a test run (the e2e incident is on
# webshop). `$metric` is a multi-value variable used with =~, so a regex of all.
TEST_VARIABLES = {
    "channel": "webshop",
    "metric": ".+",
    "__rate_interval": "1m",
    "__interval": "1m",
    "__range": "5m",
}
_VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)")
_LABEL_VALUES = re.compile(r"^\s*label_values\(\s*(?:(?P<selector>.+),\s*)?(?P<label>\w+)\s*\)\s*$")


def provisioned_datasource() -> dict[str, Any]:
    sources = yaml.safe_load(DATASOURCES.read_text())["datasources"]
    assert len(sources) == 1, "one provisioned datasource expected"
    return sources[0]


def dashboard_files() -> list[Path]:
    return sorted(DASHBOARD_DIR.glob("*.json"))


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, rows and the panels inside collapsed rows included."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


@dataclass(frozen=True)
class Query:
    dashboard: str  # file name
    where: str  # panel, annotation or variable it comes from
    expr: str  # as written, with Grafana variables
    datasource: dict[str, Any] | None

    def promql(self, variables: dict[str, str] = TEST_VARIABLES) -> str:
        """The expression with variables filled in; `label_values(sel, l)` becomes
        `count by (l) (sel)`, which has a result exactly when the variable has values."""
        expr = _VARIABLE.sub(lambda m: variables[m.group(1) or m.group(2)], self.expr)
        match = _LABEL_VALUES.match(expr)
        if match:
            selector = match.group("selector") or "{__name__=~\".+\"}"
            expr = f"count by ({match.group('label')}) ({selector})"
        return expr


def _variable_query(variable: dict[str, Any]) -> str:
    query = variable.get("query")
    return query.get("query", "") if isinstance(query, dict) else query or ""


def queries(path: Path) -> list[Query]:
    """Every PromQL expression of one dashboard."""
    dashboard, name = load(path), path.name
    found: list[Query] = []
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            where = f"panel {panel['id']} {panel.get('title', '')!r} target {target.get('refId')}"
            found.append(Query(name, where, target.get("expr", ""), target.get("datasource")))
    for annotation in dashboard.get("annotations", {}).get("list", []):
        if annotation.get("builtIn"):
            continue  # Grafana's own annotations, no query
        expr = annotation.get("target", {}).get("expr") or annotation.get("expr", "")
        found.append(Query(name, f"annotation {annotation['name']!r}", expr, annotation.get("datasource")))
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("type") == "query":
            found.append(Query(name, f"variable ${variable['name']}", _variable_query(variable),
                               variable.get("datasource")))
    return found


def all_queries() -> list[Query]:
    return [query for path in dashboard_files() for query in queries(path)]


def raw_expressions(node: Any) -> Iterator[str]:
    """Every string under an "expr" key, or a variable's "query", anywhere in the JSON:
    what `queries` must not miss."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "expr" and isinstance(value, str):
                yield value
            elif key == "query" and node.get("type") == "query":
                yield _variable_query(node)
            else:
                yield from raw_expressions(value)
    elif isinstance(node, list):
        for item in node:
            yield from raw_expressions(item)
