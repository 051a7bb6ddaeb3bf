"""``buursignaal demo``: a simulated week of reports against the running local stack.

A seeded plan: background reports over the whole country with a daily rhythm and a category
mix, and three incident episodes near real facilities from the reference data: an odour episode
downwind of a chemical site (many unique neighbours within hours: the burst rule), a dust
episode near a steelworks over two days (the space-time scan), and noise during a night shift.
The plan runs compressed in time (``--scale`` simulated seconds per real second); authorities
(registered on the fly) acknowledge most legs, answer some late and leave some unanswered, so
the clocks, the ladder, patterns and the digest have something to show.
"""

from __future__ import annotations

import asyncio
import csv
import math
import random
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

# the bodies the demo answers for (the others never answer: their ladders climb)
ANSWERING = ("od-odnzkg", "od-dcmr", "pv27", "pv28", "gm0363", "gm0599", "gm0518", "gm0344")
CATEGORY_MIX = {"odour": 0.45, "noise": 0.25, "air": 0.15, "vibration": 0.05, "water": 0.05,
                "soil": 0.05}  # fmt: skip
HOURLY_RHYTHM = [0.3, 0.2, 0.2, 0.2, 0.3, 0.5, 0.8, 1.0, 1.0, 0.9, 0.8, 0.8,
                 0.8, 0.8, 0.8, 0.9, 1.0, 1.2, 1.4, 1.5, 1.4, 1.2, 0.8, 0.5]  # fmt: skip


@dataclass(frozen=True)
class PlannedReport:
    at_s: float  # simulated seconds from the start
    category: str
    lat: float
    lon: float
    device_id: str
    description: str
    episode: str | None = None


def _facilities(reference_dir: Path) -> dict[str, tuple[float, float, str]]:
    with (reference_dir / "registry" / "facilities_nl.csv").open(newline="", encoding="utf-8") as f:
        return {r["facility_id"]: (float(r["lat"]), float(r["lon"]), r["sector"])
                for r in csv.DictReader(f)}  # fmt: skip


def _towns(reference_dir: Path) -> list[tuple[float, float]]:
    with (reference_dir / "registry" / "gemeenten_2025.csv").open(
        newline="", encoding="utf-8"
    ) as f:
        return [(float(r["centroid_lat"]), float(r["centroid_lon"])) for r in csv.DictReader(f)]


def _near(rng: random.Random, lat: float, lon: float, metres: float) -> tuple[float, float]:
    distance, bearing = rng.uniform(0, metres), rng.uniform(0, 2 * math.pi)
    return (
        lat + distance * math.cos(bearing) / 110_540,
        lon + distance * math.sin(bearing) / (111_320 * math.cos(math.radians(lat))),
    )


def plan(
    reference_dir: Path, *, seed: int = 1, days: float = 7, per_day: int = 120
) -> list[PlannedReport]:
    """The week's reports in simulated time, the same for the same seed."""
    rng = random.Random(seed)
    towns, facilities = _towns(reference_dir), _facilities(reference_dir)
    reports: list[PlannedReport] = []
    categories, weights = list(CATEGORY_MIX), list(CATEGORY_MIX.values())
    hours = int(days * 24)
    mean_rhythm = sum(HOURLY_RHYTHM) / 24
    for hour in range(hours):
        expected = per_day / 24 * HOURLY_RHYTHM[hour % 24] / mean_rhythm
        for _ in range(_poisson(rng, expected)):
            lat, lon = _near(rng, *rng.choice(towns), 3000)
            reports.append(PlannedReport(
                at_s=(hour + rng.random()) * 3600, category=rng.choices(categories, weights)[0],
                lat=lat, lon=lon, device_id=f"resident-{rng.randrange(50_000)}",
                description="Hinder in de buurt.",
            ))  # fmt: skip
    # odour downwind (north-east) of the Chemours plant in Dordrecht, day 2 evening
    chem_lat, chem_lon, _ = facilities.get("chemours_dordrecht", (51.8133, 4.6667, "chemicals"))
    for n in range(18):
        lat, lon = _near(rng, chem_lat + 0.015, chem_lon + 0.02, 1200)
        reports.append(PlannedReport(
            at_s=(24 + 19) * 3600 + n * 150, category="odour", lat=lat, lon=lon,
            device_id=f"dordrecht-{n}", description="Chemische lucht, prikkende ogen.",
            episode="odour-chemours",
        ))  # fmt: skip
    # dust near the IJmuiden steelworks, days 4 and 5
    steel_lat, steel_lon, _ = facilities.get("tata_steel_ijmuiden", (52.4766, 4.5922, "steel"))
    for n in range(14):
        lat, lon = _near(rng, steel_lat + 0.016, steel_lon + 0.008, 1500)
        reports.append(PlannedReport(
            at_s=(3 * 24 + 8) * 3600 + n * 9000, category="air", lat=lat, lon=lon,
            device_id=f"wijkaanzee-{n}", description="Zwart stof op de vensterbank.",
            episode="dust-steelworks",
        ))  # fmt: skip
    # a noisy night shift near a refinery (Pernis), night of day 6
    for n in range(8):
        lat, lon = _near(rng, 51.8850, 4.3870, 1500)
        reports.append(PlannedReport(
            at_s=(5 * 24 + 23) * 3600 + n * 900, category="noise", lat=lat, lon=lon,
            device_id=f"pernis-{n}", description="Brommend geluid de hele nacht.",
            episode="noise-night",
        ))  # fmt: skip
    return sorted((r for r in reports if r.at_s < days * 86400), key=lambda r: r.at_s)


def _poisson(rng: random.Random, mean: float) -> int:
    limit, product, count = math.exp(-mean), rng.random(), 0
    while product > limit:
        product *= rng.random()
        count += 1
    return count


async def run(
    reports: list[PlannedReport],
    *,
    intake_url: str,
    notifier_url: str,
    scale: float,
    seed: int,
    register: Any,
) -> dict[str, int]:
    """Submit the plan in compressed time; authorities answer as it goes."""
    rng = random.Random(seed + 1)
    keys: dict[str, str] = {}
    answered: set[str] = set()
    counts = {"submitted": 0, "accepted": 0, "acknowledged": 0, "resolved": 0, "ignored": 0}
    started = asyncio.get_running_loop().time()
    async with httpx.AsyncClient(timeout=30) as client:
        for index, report in enumerate(reports):
            wait = report.at_s / scale - (asyncio.get_running_loop().time() - started)
            if wait > 0:
                await asyncio.sleep(wait)
            response = await client.post(f"{intake_url}/api/v1/reports", json={
                "category": report.category, "lat": report.lat, "lon": report.lon,
                "description": report.description, "device_id": report.device_id,
                "observed_at": datetime.now(UTC).isoformat(),
            })  # fmt: skip
            counts["submitted"] += 1
            counts["accepted"] += response.status_code == 202
            if index % 20 == 19:
                await _answer(client, notifier_url, keys, answered, rng, counts, register)
        await asyncio.sleep(3)
        await _answer(client, notifier_url, keys, answered, rng, counts, register)
    return counts


async def _answer(
    client: httpx.AsyncClient,
    notifier_url: str,
    keys: dict[str, str],
    answered: set[str],
    rng: random.Random,
    counts: dict[str, int],
    register: Any,
) -> None:
    """A few authorities look at their legs: most acknowledge, some resolve, some never do."""
    for recipient in (
        "od-odnzkg",
        "od-dcmr",
        "pv27",
        "pv28",
        "gm0363",
        "gm0599",
        "gm0518",
        "gm0344",
    ):
        if recipient not in keys:
            keys[recipient] = await asyncio.to_thread(register, recipient)
        headers = {"Authorization": f"Bearer {keys[recipient]}"}
        legs = (await client.get(f"{notifier_url}/api/v1/legs", headers=headers)).json()
        for leg in legs:
            if leg["leg_id"] in answered:
                continue
            answered.add(leg["leg_id"])
            roll = rng.random()
            if roll < 0.2:
                counts["ignored"] += 1  # never answered: the ladder will climb
                continue
            url = f"{notifier_url}/api/v1/legs/{leg['leg_id']}/status"
            await client.post(url, json={"status": "acknowledged"}, headers=headers)
            counts["acknowledged"] += 1
            if roll > 0.6:
                await client.post(url, headers=headers, json={
                    "status": "resolved",
                    "explanation": "Wij hebben het bedrijf bezocht en de oorzaak laten verhelpen.",
                })  # fmt: skip
                counts["resolved"] += 1


def register_with_cli(recipient: str) -> str:
    """An API key for ``recipient`` in the running notifier's database (same environment)."""
    out = subprocess.run(
        [sys.executable, "-m", "services.cli", "notifier", "add-authority", recipient],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return out.stdout.strip().rsplit(" ", 1)[-1]
