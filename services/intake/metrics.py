"""Intake's own metrics (the outbox and broker metrics come from the runtime)."""

from prometheus_client import Counter, Histogram

REPORTS_ACCEPTED = Counter(
    "buursignaal_intake_reports_accepted_total", "Reports accepted.", ["channel", "category"]
)
REPORTS_REJECTED = Counter(
    "buursignaal_intake_reports_rejected_total",
    "Submissions refused, by channel and reason.",
    ["channel", "reason"],
)
ACCEPT_SECONDS = Histogram(
    "buursignaal_intake_accept_seconds",
    "Time to validate and durably commit one report.",
    buckets=(0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0),
)
