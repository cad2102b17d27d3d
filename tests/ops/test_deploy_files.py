"""deploy/: the Grafana dashboard and the Prometheus files load, and every metric, label and
label value they name is one the platform exposes (challenge/observability/metrics.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from challenge.observability.metrics import LABEL_VALUES, Family, catalogue

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
PROMETHEUS_SERIES = {"up": ("job", "instance")}
"""Series Prometheus makes itself."""
TARGET_LABELS = {"job", "instance"}
SELECTOR = re.compile(r"\b([a-zA-Z_][a-zA-Z0-9_]*)\s*\{([^}]*)\}")
MATCHER = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"]*)"\s*,?')
GROUPING = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")


def series_index() -> dict[str, Family]:
    return {name: family for family in catalogue().values() for name in family.series_names}


def dashboard_targets() -> list[tuple[str, str]]:
    board = json.loads((DEPLOY / "grafana" / "mlchallenge.json").read_text())
    found = []

    def walk(panels: list[dict[str, Any]]) -> None:
        for panel in panels:
            walk(panel.get("panels", []))
            found.extend((t["expr"], t.get("legendFormat", "")) for t in panel.get("targets", []))

    walk(board["panels"])
    return found


def alert_rules() -> list[dict[str, Any]]:
    document = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def check_expression(expr: str) -> tuple[set[str], set[str]]:
    """The families an expression reads and the labels its result keeps; asserts on the way."""
    assert expr.count("(") == expr.count(")") and expr.count("[") == expr.count("]"), expr
    assert expr.count("{") == expr.count("}"), expr
    index = series_index()
    names = set(re.findall(r"\bmlchallenge_[a-z0-9_]+\b", expr))
    assert names, f"no platform metric in {expr!r}"
    unknown = names - set(index)
    assert not unknown, f"{expr!r} names {sorted(unknown)}; known series: {sorted(index)}"
    labels = set().union(*(index[n].labels for n in names))
    if any(n.endswith("_bucket") for n in names):
        labels.add("le")
    for metric, matchers in SELECTOR.findall(expr):
        if metric in PROMETHEUS_SERIES:
            allowed = set(PROMETHEUS_SERIES[metric])
        else:
            assert metric in index, f"unknown series {metric!r} in {expr!r}"
            allowed = set(index[metric].labels) | TARGET_LABELS
        for label, operator, value in MATCHER.findall(matchers):
            assert label in allowed, f"{metric} has no label {label!r} ({expr!r})"
            if operator == "=" and label in LABEL_VALUES:
                assert value in LABEL_VALUES[label], f"{label}={value!r} never occurs ({expr!r})"
    kept: set[str] = set()
    for grouping in GROUPING.findall(expr):
        by = {label.strip() for label in grouping.split(",") if label.strip()}
        assert by <= labels | TARGET_LABELS, f"{expr!r} groups by {sorted(by - labels)}"
        kept |= by - {"le"}
    return {index[n].name for n in names}, kept


def test_the_dashboard_reads_only_real_metrics_and_shows_every_one() -> None:
    targets = dashboard_targets()
    assert len(targets) >= 10
    shown: set[str] = set()
    for expr, legend in targets:
        families, kept = check_expression(expr)
        shown |= families
        for label in re.findall(r"\{\{\s*(\w+)\s*\}\}", legend):
            assert label in kept, f"legend {legend!r} uses {label!r}, not kept by {expr!r}"
    assert shown == set(catalogue()), f"not on the dashboard: {set(catalogue()) - shown}"


def test_the_dashboard_is_importable() -> None:
    board = json.loads((DEPLOY / "grafana" / "mlchallenge.json").read_text())
    assert board["uid"] == "mlchallenge" and board["title"]
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    for panel in board["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
    variables = {v["name"] for v in board["templating"]["list"]}
    assert "datasource" in variables


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda rule: str(rule["alert"]))
def test_each_alert_rule_reads_real_metrics_and_says_what_to_do(rule: dict[str, Any]) -> None:
    assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}
    assert re.fullmatch(r"Mlchallenge[A-Za-z]+", rule["alert"])
    assert rule["labels"]["severity"] in {"critical", "warning", "info"}
    assert rule["annotations"]["summary"] and rule["annotations"]["description"]
    assert re.fullmatch(r"\d+[smh]", str(rule.get("for", "0m")))
    expr = " ".join(str(rule["expr"]).split())
    if expr.startswith("up{"):
        assert SELECTOR.match(expr) and "mlchallenge" in expr
        kept = TARGET_LABELS
    else:
        _, kept = check_expression(expr)
    text = " ".join(rule["annotations"].values())
    for label in re.findall(r"\$labels\.(\w+)", text):
        assert label in kept, f"{rule['alert']} uses $labels.{label}, not kept by {expr!r}"


def test_prometheus_config_loads_the_rules_and_scrapes_api_and_workers() -> None:
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    for path in config["rule_files"]:
        assert (DEPLOY / "prometheus" / Path(path).name).is_file(), path
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == {"mlchallenge-api", "mlchallenge-worker"}
    for job in jobs.values():
        assert job["metrics_path"] == "/metrics"
        assert job["authorization"]["type"] == "Bearer"
    assert jobs["mlchallenge-worker"]["dns_sd_configs"][0]["port"] == 9101
