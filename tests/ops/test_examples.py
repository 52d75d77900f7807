"""The sample Prometheus rules and Grafana dashboard only use metrics policywatch serves."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import REPO
from tests.ops.conftest import get, write_config
from worker.config import load_settings
from worker.metrics import PrometheusRecorder
from worker.runtime.embedded import build_runtime
from worker.runtime.operations import start_metrics

RULES = REPO / "examples" / "prometheus-rules.yml"
DASHBOARD = REPO / "examples" / "grafana-dashboard.json"
METRIC = re.compile(r"\bpolicywatch_[a-z_]+\b")
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum")}


@pytest.fixture(scope="module")
def served_names(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """Every series name a `policywatch run` endpoint serves after one cycle."""
    folder = tmp_path_factory.mktemp("served")
    channels = f"outbox: {{type: file, path: '{folder}/outbox.jsonl'}}"
    config = write_config(folder, channels=channels, extra="metrics: {port: 0}\n")
    settings = load_settings(config).model_copy(update={"state": f"sqlite:///{folder}/s.db"})
    runtime = build_runtime(settings, PrometheusRecorder())
    runtime.run_once()
    runtime.beat()
    server = start_metrics(runtime)
    assert server is not None
    try:
        text = get(server.url + "/metrics").text
    finally:
        server.close()
        runtime.close()
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        names.update(family.name + s for s in SUFFIXES.get(family.type, ()))
    return names


def rule_list() -> list[dict[str, object]]:
    data = yaml.safe_load(RULES.read_text())
    return [rule for group in data["groups"] for rule in group["rules"]]


def test_every_rule_has_a_name_an_expression_and_a_summary() -> None:
    rules = rule_list()
    assert len(rules) >= 6
    for rule in rules:
        assert {"alert", "expr", "labels", "annotations"} <= rule.keys(), rule
        annotations = rule["annotations"]
        assert isinstance(annotations, dict) and annotations.get("summary")
        expr = str(rule["expr"])
        assert expr.count("(") == expr.count(")") and expr.count("{") == expr.count("}")


def test_the_rules_page_on_a_delivery_waiting_over_ten_minutes() -> None:
    stuck = {str(r["alert"]): str(r["expr"]) for r in rule_list()}["PolicywatchDeliveryStuck"]
    assert "policywatch_oldest_pending_delivery_age_seconds" in stuck and "> 600" in stuck


def test_rules_and_dashboard_use_only_served_metrics(served_names: set[str]) -> None:
    exprs = [str(r["expr"]) for r in rule_list()]
    dashboard = json.loads(DASHBOARD.read_text())
    exprs += [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    used = {name for expr in exprs for name in METRIC.findall(expr)}
    assert len(used) >= 10
    assert used - served_names == set()


def test_the_dashboard_imports_with_a_datasource_input() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["__inputs"][0]["name"] == "DS_PROMETHEUS"
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        assert panel["targets"] and all(t["expr"] for t in panel["targets"])


def test_examples_are_where_the_readme_says(tmp_path: Path) -> None:
    readme = (REPO / "README.md").read_text()
    assert "examples/prometheus-rules.yml" in readme and "examples/grafana-dashboard.json" in readme
