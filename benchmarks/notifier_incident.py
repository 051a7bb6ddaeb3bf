"""One answer on an incident of 1,000 legs: how long until it is committed.

    .venv/bin/python -m benchmarks.notifier_incident [--legs 1000] [--postgres]

Stores ``--legs`` acknowledged legs of one executing body in one incident (each its own report
and resident), then times one ``resolved`` answer with its explanation through
``Incidents.answer`` in one write transaction: every leg's status, history row, ``leg.status``
event, and one mail job per resident. Target: within 2 s on SQLite.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import insert

from benchmarks.notifier_ladder import NOW, database, leg_rows
from schemas.leg import Actor, ActorKind, LegStatus
from services.notifier.actions import Legs
from services.notifier.incidents import Incidents
from services.notifier.models import CaseFile, Incident, Leg
from services.notifier.norms import Norms
from services.notifier.worktime import WorkingCalendar
from services.runtime.clock import FixedClock
from services.runtime.database import make_engine, session_factory, write_transaction
from services.runtime.migrations import upgrade

BODY = "od-odnzkg"
EXPLANATION = (
    "Bij het bedrijf is een fakkel ontstoken; de oorzaak is verholpen en wij houden toezicht."
)


async def store(url: str, count: int) -> str:
    incident_id = str(uuid.uuid4())
    engine = make_engine(url)
    async with engine.begin() as connection:
        await connection.execute(
            insert(Incident.__table__),  # type: ignore[attr-defined]
            [{"id": incident_id, "recipient_id": BODY, "category": "odour",
              "source_key": "facility:tata_steel_ijmuiden", "state": "open",
              "window_start": NOW, "window_end": NOW, "report_count": count,
              "unique_reporters": count, "reporter_keys": [], "waves_announced": 0,
              "wave_reporters": 0, "created_at": NOW}],
        )  # fmt: skip
        for legs, cases in leg_rows(count, due_now=0):
            for n, (leg, case) in enumerate(zip(legs, cases, strict=True)):
                case["reporter_key"] = f"{n:064d}"
                leg.update(
                    id=leg_id_of(leg), recipient_id=BODY, role="executing_body",
                    status="acknowledged", deadline_kind="resolve", incident_id=incident_id,
                    observed_at=NOW,
                )  # fmt: skip
            await connection.execute(insert(CaseFile.__table__), cases)  # type: ignore[attr-defined]
            await connection.execute(insert(Leg.__table__), legs)  # type: ignore[attr-defined]
    await engine.dispose()
    return incident_id


def leg_id_of(leg: dict[str, object]) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{leg['report_id']}/{BODY}"))


async def answer(url: str, incident_id: str) -> tuple[float, int]:
    engine = make_engine(url)
    sessions = session_factory(engine)
    incidents = Incidents(Legs(WorkingCalendar(), Norms(), FixedClock(NOW)))
    actor = Actor(kind=ActorKind.AUTHORITY, actor_id=BODY)
    try:
        started = time.perf_counter()
        async with write_transaction(sessions) as session:
            incident = await incidents.incident_of(session, BODY, incident_id)
            outcome = await incidents.answer(
                session, incident, LegStatus.RESOLVED, actor, EXPLANATION
            )
        return time.perf_counter() - started, len(outcome.changed)
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--legs", type=int, default=1000)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_dir, database(args.postgres, Path(tmp_dir)) as url:
        upgrade("notifier", url)
        incident_id = asyncio.run(store(url, args.legs))
        elapsed, changed = asyncio.run(answer(url, incident_id))
    kind = "PostgreSQL" if args.postgres else "SQLite"
    print(f"incident answer: {changed:,} legs committed in {elapsed * 1000:.0f} ms ({kind})")


if __name__ == "__main__":
    main()
