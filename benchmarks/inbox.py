"""The meldkamer with 10,000 open legs: server time of the inbox's first page and of one
incident's map data.

    .venv/bin/python -m benchmarks.inbox [--legs 10000] [--runs 30] [--postgres]

Stores ``--legs`` open legs of one omgevingsdienst (each its own report, with a delivery as the
router sends it: place, candidate sources, wind, description), 100 of them in 20 incidents,
then asks the notifier app in this process (``httpx.ASGITransport``: no network, so the time
measured is the server's) for ``/inbox`` (50 rows of the first page and the incidents), a
filtered first page (category, facility, period and a word of the descriptions),
``/inbox/version.json`` (what the pages poll) and ``/inbox/incidents/<id>/map.geojson`` (the
incident's map data: one request), each ``--runs`` times after one warm-up; prints median and
p95. Target: the first page within 300 ms on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert

from benchmarks.notifier_ladder import NOW, database
from services.notifier.actions import leg_id_for
from services.notifier.app import create_app
from services.notifier.authorities import register_authority
from services.notifier.models import CaseFile, Incident, Leg, LegHistory
from services.notifier.settings import NotifierSettings
from services.runtime.clock import FixedClock
from services.runtime.database import make_engine
from services.runtime.migrations import upgrade

BODY = "od-bench"
INCIDENTS = 20
PER_INCIDENT = 5
CHUNK = 2000
FACILITIES = [("tata_steel_ijmuiden", "Tata Steel IJmuiden"), ("chemours_dordrecht", "Chemours"),
              ("attero_wijster", "Attero Wijster"), ("shell_pernis", "Shell Pernis")]  # fmt: skip
WORDS = ["zwavellucht", "ramen dicht", "stank", "rook", "geluid van de fabriek"]
STATUSES = ["delivered", "acknowledged", "in_progress"]


def delivery(rng: random.Random, n: int) -> dict[str, Any]:
    facility_id, name = FACILITIES[n % len(FACILITIES)]
    observed = NOW - timedelta(minutes=rng.randint(0, 30 * 24 * 60))
    return {
        "description": f"Melding {n}: {rng.choice(WORDS)} sinds vanochtend.",
        "observed_at": observed.isoformat().replace("+00:00", "Z"),
        "received_at": observed.isoformat().replace("+00:00", "Z"),
        "channel": "web", "subtype": "sulphur", "intensity": rng.randint(1, 5),
        "health_symptoms": [], "location": {"lat": 52.3 + rng.random() / 5,
                                            "lon": 4.5 + rng.random() / 5, "verified": True},
        "place": {"municipality_code": "GM0453", "municipality_name": "Velsen",
                  "province_code": "PV27"},
        "candidate_facilities": [{"facility_id": facility_id, "name": name, "score": 0.8,
                                  "distance_m": rng.randint(300, 4000), "bearing_deg": 20.0,
                                  "downwind": True, "plausible": True}],
        "acute": False, "reason": {"nl": "U voert het uit.", "en": "You carry it out."},
        "language": "nl",
    }  # fmt: skip


async def store(url: str, count: int) -> str:
    """``count`` open legs of ``BODY``; the first 100 in 20 incidents; an incident's id."""
    rng = random.Random(19)
    engine = make_engine(url)
    incident_ids = [str(uuid.UUID(int=10**9 + i)) for i in range(INCIDENTS)]
    async with engine.begin() as connection:
        await connection.execute(
            insert(Incident.__table__),  # type: ignore[attr-defined]
            [{"id": incident_id, "recipient_id": BODY, "category": "odour",
              "source_key": f"facility:{FACILITIES[i % len(FACILITIES)][0]}", "state": "open",
              "window_start": NOW - timedelta(hours=2), "window_end": NOW,
              "report_count": PER_INCIDENT, "unique_reporters": PER_INCIDENT,
              "reporter_keys": [], "wind_from_deg": 200.0, "wind_speed_ms": 4.5,
              "waves_announced": 0, "wave_reporters": 0, "created_at": NOW}
             for i, incident_id in enumerate(incident_ids)],
        )  # fmt: skip
        for start in range(0, count, CHUNK):
            legs, cases, history = [], [], []
            for n in range(start, min(count, start + CHUNK)):
                report_id = str(uuid.UUID(int=n + 1))
                leg_id = leg_id_for(report_id, BODY)
                grouped = n < INCIDENTS * PER_INCIDENT
                content = delivery(rng, n)
                cases.append({"report_id": report_id, "reporter_key": f"{n:064d}",
                              "category": "odour", "language": "nl", "urgent": False,
                              "received_at": NOW})  # fmt: skip
                legs.append({
                    "id": leg_id, "report_id": report_id, "recipient_id": BODY,
                    "recipient_name": "Omgevingsdienst (benchmark)", "role": "executing_body",
                    "category": "odour", "routing_round": 1, "status": rng.choice(STATUSES),
                    "delivered_at": NOW - timedelta(minutes=rng.randint(0, 30 * 24 * 60)),
                    "clock_origin": NOW, "paused_hours": 0.0, "norm_hours": 40.0,
                    "cycle": 0, "next_step": rng.choice([1, 1, 1, 2]),
                    "deadline_kind": "resolve",
                    "next_due_at": NOW + timedelta(minutes=rng.randint(1, 30 * 24 * 60)),
                    "incident_id": incident_ids[n // PER_INCIDENT] if grouped else None,
                    "observed_at": NOW - timedelta(minutes=n % 120) if grouped else None,
                    "delivery": content,
                })  # fmt: skip
                history.append({"leg_id": leg_id, "at": NOW, "from_status": None,
                                "to_status": "delivered", "actor_kind": "system",
                                "actor_id": "notifier"})  # fmt: skip
            await connection.execute(insert(CaseFile.__table__), cases)  # type: ignore[attr-defined]
            await connection.execute(insert(Leg.__table__), legs)  # type: ignore[attr-defined]
            await connection.execute(insert(LegHistory.__table__), history)  # type: ignore[attr-defined]
    await engine.dispose()
    return incident_ids[0]


async def timed(client: httpx.AsyncClient, path: str, runs: int) -> tuple[float, float]:
    """Median and p95 in milliseconds of ``runs`` GETs (after one warm-up)."""
    first = await client.get(path)
    assert first.status_code == 200, (path, first.status_code, first.text[:300])
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        answer = await client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200
    times.sort()
    return statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)]


async def measure(url: str, incident_id: str, runs: int) -> dict[str, tuple[float, float]]:
    settings = NotifierSettings(
        database_url=url, secret_key="benchmark-secret-0123456789abcdef", environment="test"
    )
    app = create_app(settings, FixedClock(NOW))
    key = await register_authority(app.state.sessions, BODY, "Omgevingsdienst (benchmark)")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        form = await client.get("/inbox/login")
        token = form.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        signed = await client.post("/inbox/login", data={"api_key": key, "csrf_token": token})
        assert signed.status_code == 303, signed.text
        since = (NOW - timedelta(days=10)).date().isoformat()
        paths = {
            "first page": "/inbox",
            "page 100": "/inbox?page=100",
            "filtered first page": f"/inbox?category=odour&facility=chemours_dordrecht"
            f"&since={since}&q=stank",
            "version.json": "/inbox/version.json",
            "incident map data": f"/inbox/incidents/{incident_id}/map.geojson",
        }
        found = {name: await timed(client, path, runs) for name, path in paths.items()}
    await app.state.notifier.runtime.engine.dispose()
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--legs", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    kind = "PostgreSQL" if args.postgres else "SQLite"
    with tempfile.TemporaryDirectory() as tmp_dir, database(args.postgres, Path(tmp_dir)) as url:
        upgrade("notifier", url)
        incident_id = asyncio.run(store(url, args.legs))
        found = asyncio.run(measure(url, incident_id, args.runs))
    for name, (median, p95) in found.items():
        print(f"{kind}, {args.legs:,} open legs, {name}: median {median:.0f} ms, p95 {p95:.0f} ms")


if __name__ == "__main__":
    main()
