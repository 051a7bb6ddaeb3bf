"""``buursignaal demo``: a simulated week of reports against the running local stack.

A seeded plan: background reports over the whole country with a daily rhythm and a category
mix, and three incident episodes near real facilities from the reference data: an odour episode
downwind of a chemical site (many unique neighbours within hours: the burst rule), a dust
episode near a steelworks over two days (the space-time scan), and noise during a night shift.
The episodes lie downwind of their facility in a seeded, plausible wind series, which the demo
writes as a KNMI hourly file where the local router reads its wind (``var/weather``), so that the
router's reasons name the same wind. The simulated week is the one that has just passed (each
report is observed at its simulated time) and runs compressed in time (``--scale`` simulated
seconds per real second); authorities
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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

# the bodies the demo answers for (the others never answer: their ladders climb)
ANSWERING = ("od-odnzkg", "od-dcmr", "pv27", "pv28", "gm0363", "gm0599", "gm0518", "gm0344")
CATEGORY_MIX = {
    "odour": 0.45,
    "noise": 0.25,
    "air": 0.15,
    "vibration": 0.05,
    "water": 0.05,
    "soil": 0.05,
}
HOURLY_RHYTHM = [
    0.3,
    0.2,
    0.2,
    0.2,
    0.3,
    0.5,
    0.8,
    1.0,
    1.0,
    0.9,
    0.8,
    0.8,
    0.8,
    0.8,
    0.8,
    0.9,
    1.0,
    1.2,
    1.4,
    1.5,
    1.4,
    1.2,
    0.8,
    0.5,
]


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
        return {
            r["facility_id"]: (float(r["lat"]), float(r["lon"]), r["sector"])
            for r in csv.DictReader(f)
        }


def _towns(reference_dir: Path) -> list[tuple[float, float]]:
    with (reference_dir / "registry" / "gemeenten_2025.csv").open(
        newline="", encoding="utf-8"
    ) as f:
        return [(float(r["centroid_lat"]), float(r["centroid_lon"])) for r in csv.DictReader(f)]


def _offset(lat: float, lon: float, distance: float, bearing: float) -> tuple[float, float]:
    """The point ``distance`` metres from ``lat, lon`` at ``bearing`` (radians from north)."""
    return (
        lat + distance * math.cos(bearing) / 110_540,
        lon + distance * math.sin(bearing) / (111_320 * math.cos(math.radians(lat))),
    )


def _near(rng: random.Random, lat: float, lon: float, metres: float) -> tuple[float, float]:
    distance, bearing = rng.uniform(0, metres), rng.uniform(0, 2 * math.pi)
    return _offset(lat, lon, distance, bearing)


@dataclass(frozen=True)
class WindHour:
    hour: int  # simulated hours from the start
    from_deg: float
    speed_ms: float


def wind_series(seed: int, days: float) -> list[WindHour]:
    """A plausible week of wind over the Netherlands, hour by hour, the same for the same seed:
    the prevailing south-westerly turning slowly (a random walk pulled back to 230 degrees),
    stronger in the afternoon than at night."""
    rng = random.Random(seed * 7919 + 1)
    direction, series = 230.0, []
    for hour in range(math.ceil(days * 24) + 1):
        direction += rng.gauss(0, 9) + (230 - direction) * 0.08
        daytime = 1 + 0.35 * math.sin((hour % 24 - 9) / 24 * 2 * math.pi)
        speed = max(0.5, rng.gauss(4.5, 1.0) * daytime)
        series.append(WindHour(hour, round(direction % 360), round(speed, 1)))
    return series


def _downwind_of(
    rng: random.Random, lat: float, lon: float, wind: WindHour, metres: tuple[float, float]
) -> tuple[float, float]:
    """A point where the wind carries what ``lat, lon`` emits: within 20 degrees of downwind."""
    bearing = math.radians((wind.from_deg + 180 + rng.uniform(-20, 20)) % 360)
    return _offset(lat, lon, rng.uniform(*metres), bearing)


def plan(
    reference_dir: Path, *, seed: int = 1, days: float = 7, per_day: int = 120
) -> list[PlannedReport]:
    """The week's reports in simulated time, the same for the same seed; the episodes lie
    downwind of their facility in ``wind_series(seed, days)``."""
    rng = random.Random(seed)
    reports = _everyday(rng, _towns(reference_dir), days, per_day)
    reports += _episodes(rng, _facilities(reference_dir), wind_series(seed, days))
    return sorted((r for r in reports if r.at_s < days * 86400), key=lambda r: r.at_s)


def _everyday(
    rng: random.Random, towns: list[tuple[float, float]], days: float, per_day: int
) -> list[PlannedReport]:
    """Scattered reports near towns, following the day's rhythm."""
    reports: list[PlannedReport] = []
    categories, weights = list(CATEGORY_MIX), list(CATEGORY_MIX.values())
    hours = int(days * 24)
    mean_rhythm = sum(HOURLY_RHYTHM) / 24
    for hour in range(hours):
        expected = per_day / 24 * HOURLY_RHYTHM[hour % 24] / mean_rhythm
        for _ in range(_poisson(rng, expected)):
            lat, lon = _near(rng, *rng.choice(towns), 3000)
            reports.append(
                PlannedReport(
                    at_s=(hour + rng.random()) * 3600,
                    category=rng.choices(categories, weights)[0],
                    lat=lat,
                    lon=lon,
                    device_id=f"resident-{rng.randrange(50_000)}",
                    description="Hinder in de buurt.",
                )
            )
    return reports


@dataclass(frozen=True)
class Episode:
    """Reports that belong together: ``count`` of them from ``start_s``, every ``every_s``,
    downwind of a facility (``metres`` away) or, without one, within ``metres`` of a point."""

    name: str
    category: str
    at: tuple[float, float]
    facility: str | None
    start_s: float
    every_s: float
    count: int
    metres: tuple[float, float]
    device: str
    description: str


EPISODES = (
    # odour downwind (north-east) of the Chemours plant in Dordrecht, day 2 evening
    Episode(
        "odour-chemours",
        "odour",
        (51.8133, 4.6667),
        "chemours_dordrecht",
        (24 + 19) * 3600,
        150,
        18,
        (700, 2500),
        "dordrecht",
        "Chemische lucht, prikkende ogen.",
    ),
    # dust near the IJmuiden steelworks, days 4 and 5
    Episode(
        "dust-steelworks",
        "air",
        (52.4766, 4.5922),
        "tata_steel_ijmuiden",
        (3 * 24 + 8) * 3600,
        9000,
        14,
        (800, 3000),
        "wijkaanzee",
        "Zwart stof op de vensterbank.",
    ),
    # a noisy night shift near a refinery (Pernis), night of day 6
    Episode(
        "noise-night",
        "noise",
        (51.8850, 4.3870),
        None,
        (5 * 24 + 23) * 3600,
        900,
        8,
        (0, 1500),
        "pernis",
        "Brommend geluid de hele nacht.",
    ),
)


def _episodes(
    rng: random.Random, facilities: dict[str, tuple[float, float, str]], wind: list[WindHour]
) -> list[PlannedReport]:
    """The episodes the demo shows: odour, dust and a noisy night."""
    reports: list[PlannedReport] = []
    for episode in EPISODES:
        lat, lon = episode.at
        if episode.facility is not None:
            lat, lon, _ = facilities.get(episode.facility, (lat, lon, ""))
        for n in range(episode.count):
            at_s = episode.start_s + n * episode.every_s
            if episode.facility is None:
                spot = _near(rng, lat, lon, episode.metres[1])
            else:
                spot = _downwind_of(rng, lat, lon, _wind_at(wind, at_s), episode.metres)
            reports.append(
                PlannedReport(
                    at_s=at_s,
                    category=episode.category,
                    lat=spot[0],
                    lon=spot[1],
                    device_id=f"{episode.device}-{n}",
                    description=episode.description,
                    episode=episode.name,
                )
            )
    return reports


def _wind_at(series: list[WindHour], at_s: float) -> WindHour:
    return series[min(int(at_s // 3600), len(series) - 1)]


def write_knmi_hours(
    series: list[WindHour], start: datetime, reference_dir: Path, weather_dir: Path
) -> Path:
    """The series as a KNMI hourly file (``uurgeg`` columns STN, YYYYMMDD, HH, DD, FH) for every
    wind station in the reference data, hour 0 beginning at ``start``; the router reads it
    like KNMI's own files. Returns the file written."""
    weather_dir.mkdir(parents=True, exist_ok=True)
    source = reference_dir / "weather" / "knmi_stations.csv"
    stations_text = source.read_text(encoding="utf-8")
    stations = [
        row["stn"]
        for row in csv.DictReader(stations_text.splitlines())
        if row["DD"] == "True" and row["FH"] == "True"
    ]
    lines = [
        "# Buursignaal demo wind (not KNMI observations); columns as in KNMI uurgeg files",
        "# STN,YYYYMMDD,   HH,   DD,   FH",
    ]
    base = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    for hour in series:
        ending = base + timedelta(hours=hour.hour + 1)
        day, hh = (ending - timedelta(days=1), 24) if ending.hour == 0 else (ending, ending.hour)
        for station in stations:
            lines.append(
                f"{station:>5},{day:%Y%m%d},{hh:>5},{int(hour.from_deg) or 360:>5},"
                f"{round(hour.speed_ms * 10):>5}"
            )
    (weather_dir / "knmi_stations.csv").write_text(stations_text, encoding="utf-8")
    written = weather_dir / "knmi_uurgeg_demo.txt"
    written.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return written


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
    start: datetime,
) -> dict[str, int]:
    """Submit the plan in compressed time, each report observed at ``start`` plus its
    simulated time (a week that has just passed); authorities answer as it goes."""
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
            response = await client.post(
                f"{intake_url}/api/v1/reports",
                json={
                    "category": report.category,
                    "lat": report.lat,
                    "lon": report.lon,
                    "description": report.description,
                    "device_id": report.device_id,
                    "observed_at": (start + timedelta(seconds=report.at_s)).isoformat(),
                },
            )
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
                await client.post(
                    url,
                    headers=headers,
                    json={
                        "status": "resolved",
                        "explanation": RESOLVED_EXPLANATION,
                    },
                )
                counts["resolved"] += 1


RESOLVED_EXPLANATION = "Wij hebben het bedrijf bezocht en de oorzaak laten verhelpen."


def register_with_cli(recipient: str) -> str:
    """An API key for ``recipient`` in the running notifier's database (same environment)."""
    out = subprocess.run(
        [sys.executable, "-m", "tools.cli", "notifier", "add-authority", recipient],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip().rsplit(" ", 1)[-1]
