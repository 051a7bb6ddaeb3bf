"""The router's metrics: outcomes, recipients by rule and role, and time per decision."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

ROUTED = Counter(
    "buursignaal_router_reports",
    "Reports decided, by outcome and category.",
    ["outcome", "category"],
)
RECIPIENTS = Counter(
    "buursignaal_router_recipients", "Recipients chosen, by rule and role.", ["rule", "role"]
)
DECIDE_SECONDS = Histogram(
    "buursignaal_router_decide_seconds",
    "Time to resolve one report (place, sources, rules).",
    buckets=(0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.01),
)
