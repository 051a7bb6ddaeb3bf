"""The notifier's metrics: answer times in working hours, open and overdue legs, mails."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

WORKING_HOUR_BUCKETS = (1, 2, 4, 8.5, 17, 42.5, 85, 170, 255, 425)

TIME_TO_ACKNOWLEDGE = Histogram(
    "buursignaal_leg_acknowledge_working_hours",
    "Working hours from delivery to acknowledgement, per authority and category.",
    ["recipient", "category"],
    buckets=WORKING_HOUR_BUCKETS,
)
TIME_TO_RESOLVE = Histogram(
    "buursignaal_leg_resolve_working_hours",
    "Working hours (clock paused while waiting for the resident) to a resolution or a "
    "substantive 'no action', per authority and category.",
    ["recipient", "category"],
    buckets=WORKING_HOUR_BUCKETS,
)
OPEN_LEGS = Gauge("buursignaal_legs_open", "Legs not closed, per authority.", ["recipient"])
OVERDUE_LEGS = Gauge(
    "buursignaal_legs_overdue",
    "Open legs whose ladder has fired this rung (1 reminder, 2 commissioning authority, "
    "3 national table) and no later one.",
    ["step"],
)
ESCALATIONS = Counter(
    "buursignaal_escalations_total", "Rungs of the ladder that fired.", ["step", "deadline"]
)
MAILS = Counter("buursignaal_mails_total", "Resident mails by outcome.", ["kind", "outcome"])
