"""The Grafana dashboard queries only metrics the notifier exports, and they appear on /metrics."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client import REGISTRY

import services.intake.metrics
import services.notifier.metrics
import services.router.metrics
import services.runtime.metrics  # noqa: F401  (these register the metrics)

DASHBOARDS = Path(__file__).resolve().parents[2] / "deploy" / "grafana"
DASHBOARD = DASHBOARDS / "buursignaal-notifier.json"


SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}


def exported_names() -> set[str]:
    """Every series name the registry can produce (labelled metrics have no samples yet)."""
    return {
        metric.name + suffix
        for metric in REGISTRY.collect()
        for suffix in SUFFIXES.get(metric.type, ("",))
    }


def test_every_dashboard_query_names_an_exported_metric() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    queried = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"buursignaal_[a-z_]+", target["expr"])
    }
    assert queried, "the dashboard has queries"
    missing = queried - exported_names()
    assert not missing, f"the dashboard asks for metrics nobody exports: {sorted(missing)}"
    titles = " ".join(panel["title"] for panel in dashboard["panels"]).lower()
    for subject in ("acknowledge", "resolve", "open legs", "overdue", "mails"):
        assert subject in titles


def test_every_dashboard_asks_only_for_exported_series() -> None:
    files = sorted(DASHBOARDS.glob("*.json"))
    assert {f.name for f in files} >= {
        "buursignaal-intake.json",
        "buursignaal-routing.json",
        "buursignaal-notifier.json",
    }
    exported = exported_names()
    for path in files:
        dashboard = json.loads(path.read_text())
        for panel in dashboard["panels"]:
            for target in panel["targets"]:
                for name in re.findall(r"buursignaal_[a-z_]+", target["expr"]):
                    assert name in exported, f"{path.name}: {name} is not exported"
