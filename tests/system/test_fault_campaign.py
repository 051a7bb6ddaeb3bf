"""The fault campaign, short and seeded (issue 14): every kind of fault at least once while
reports come in, then nothing accepted is lost and nothing took effect twice.

The same code as ``benchmarks/faults.py`` (which runs the full 10,000 reports): a broker of its
own (it is killed), the services as processes (each SIGKILLed and restarted, one SIGSTOPped for
longer than the consumer session timeout), on SQLite and on a durable PostgreSQL of its own
with two intake processes and an immediate database stop in the middle. The reconciliation
reads the topics and the three databases.
"""

from __future__ import annotations

import pytest

from benchmarks.faults import Options, run_campaign

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

# About 1,000 reports at a slow steady rate, so that the faults (each waits until the last one
# has recovered; together 1-2 minutes) fall while reports come in. Each case has a deadline of
# its own below the test's timeout: a stage that does not finish ends in an error naming it
# (``Stack.stage``), with the services' logs in var/log/faults/.
CASES = {
    "sqlite": Options(reports=1000, seed=14, database="sqlite", intakes=1, rate=7, deadline_s=480),
    "postgresql": Options(
        reports=1000, seed=14, database="postgresql", intakes=2, rate=7, deadline_s=480
    ),
}


@pytest.mark.timeout(600)
@pytest.mark.parametrize("database", sorted(CASES))
def test_nothing_accepted_is_lost_and_nothing_happens_twice(database: str) -> None:
    options = CASES[database]
    findings = run_campaign(options)

    kinds = {fault.kind for fault in findings.faults}
    expected = {"kill", "stall", "broker"} | ({"database"} if database == "postgresql" else set())
    assert kinds == expected
    killed = {fault.target for fault in findings.faults if fault.kind == "kill"}
    assert killed == {"router", "notifier", "intake-1"}
    during_load = [f for f in findings.faults if (f.injected_s or 1e9) < findings.load_s]
    assert len(during_load) >= len(findings.faults) - 1, [f.describe() for f in findings.faults]
    assert all(fault.injected_s is not None for fault in findings.faults), "faults injected"
    assert findings.accepted == options.reports, findings.summary()
    assert findings.published == findings.accepted, findings.summary()
    assert dict(findings.problems) == {}, findings.summary()
    assert findings.transient_dead_letters == 0, findings.summary()
    assert findings.dead_letters == [], findings.summary()
    assert findings.ok
