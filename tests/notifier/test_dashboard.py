"""The Grafana dashboard queries only metrics the notifier exports, and they appear on /metrics."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client import REGISTRY

import services.notifier.metrics  # noqa: F401  (registers the metrics)

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "buursignaal-notifier.json"


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
