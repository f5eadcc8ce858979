"""The Grafana dashboards: valid JSON, unique ids, the provisioned datasource
everywhere, and PromQL that parses. The e2e test runs the same queries for real."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml

from tests.monitoring import dashboards
from tests.monitoring.stack import run, tool

FILES = dashboards.dashboard_files()


def test_there_are_the_overview_and_channel_dashboards():
    assert {path.name for path in FILES} == {"kohta-overview.json", "kohta-channel.json"}


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_dashboard_is_valid_and_uses_the_provisioned_datasource(path: Path):
    board = dashboards.load(path)
    uid = dashboards.provisioned_datasource()["uid"]
    assert board["uid"] == path.stem
    assert board["title"]
    assert 36 <= board["schemaVersion"] <= 41
    assert board["id"] is None  # provisioned dashboards get their id from Grafana

    panels = list(dashboards.panels(board))
    ids = Counter(panel["id"] for panel in panels)
    assert not [pid for pid, n in ids.items() if n > 1], f"duplicate panel ids: {ids}"
    for panel in panels:
        assert {"x", "y", "w", "h"} <= panel["gridPos"].keys(), panel["title"]
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": uid}, panel["title"]
        targets = panel["targets"]
        assert targets, f"panel {panel['title']!r} has no query"
        assert len({t["refId"] for t in targets}) == len(targets), panel["title"]

    queries = dashboards.queries(path)
    for query in queries:
        assert query.expr.strip(), query.where
        assert query.datasource == {"type": "prometheus", "uid": uid}, query.where
    # Nothing that looks like a query is left out of the list the e2e test runs.
    assert sorted(dashboards.raw_expressions(board)) == sorted(q.expr for q in queries)


def test_channel_dashboard_draws_the_band_and_annotates_alerts():
    board = dashboards.load(dashboards.DASHBOARD_DIR / "kohta-channel.json")
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert {"channel", "metric"} <= variables.keys()
    band = next(p for p in board["panels"] if p["title"].endswith("observed and normal band"))
    legends = {t["legendFormat"] for t in band["targets"]}
    assert legends == {"observed", "expected", "lower", "upper"}
    fills = [
        prop["value"]
        for override in band["fieldConfig"]["overrides"]
        if override["matcher"]["options"] == "upper"
        for prop in override["properties"]
        if prop["id"] == "custom.fillBelowTo"
    ]
    assert fills == ["lower"]
    assert all('channel="$channel"' in t["expr"] for t in band["targets"])
    annotations = [a for a in board["annotations"]["list"] if not a.get("builtIn")]
    assert any("kohta_alerts_open" in a["target"]["expr"] for a in annotations)


def test_every_query_is_valid_promql(tmp_path: Path):
    # promtool has no bare PromQL check, but it parses every rule's expression: make
    # each dashboard query (variables filled in) a recording rule.
    queries = dashboards.all_queries()
    rules = {"groups": [{"name": "dashboards", "rules": [
        {"record": f"dashboard_query_{i}", "expr": q.promql()} for i, q in enumerate(queries)
    ]}]}
    path = tmp_path / "dashboard-queries.rules.yml"
    path.write_text(yaml.safe_dump(rules))
    for query in queries:
        assert "$" not in query.promql(), f"unfilled variable in {query.where}: {query.promql()}"
    run(tool("promtool"), "check", "rules", path)


def test_provisioning_points_at_the_dashboards_and_the_datasource():
    source = dashboards.provisioned_datasource()
    assert source["type"] == "prometheus" and source["uid"] == "kohta-prometheus"
    providers = yaml.safe_load(dashboards.DASHBOARD_PROVIDERS.read_text())["providers"]
    assert [p["type"] for p in providers] == ["file"]
    # Where docker-compose mounts config/grafana/dashboards: see test_compose.py.
    assert providers[0]["options"]["path"].startswith("/")
