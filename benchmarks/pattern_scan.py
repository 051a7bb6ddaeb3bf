"""A national-scale hourly space-time scan, the facility recurrence for every facility, and
the burst rule's cost per incoming report.

    .venv/bin/python -m benchmarks.pattern_scan [--days 365 --per-day 550 --permutations 999]

Reports: ``--days`` x ``--per-day`` points around the 342 municipal centres of 2025 (a third
around the 63 facilities), seeded, at random hours; the scan runs over all of them as the
notifier's hourly scan does (in hours, windows of 6 hours to 30 days; one case per reporter per
week is already the case here). Prints wall time, the clusters' recurrence intervals (per day of
surveillance: 24 scans a day) and peak RSS. Then the recurrence evaluation (``episodes``) of
``--facilities`` facilities, and ``BurstDetector.observe`` per report.
"""

from __future__ import annotations

import argparse
import csv
import resource
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from services.notifier.patterns import recurrence
from services.notifier.patterns.burst import BurstDetector
from services.notifier.patterns.scan import HOURLY_WINDOWS, scan
from services.runtime.geo import METRES_PER_DEG_LAT, METRES_PER_DEG_LON

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "registry"


def centres() -> tuple[np.ndarray, np.ndarray]:
    with (SHARED / "gemeenten_2025.csv").open(newline="", encoding="utf-8") as handle:
        towns = [
            (float(r["centroid_lat"]), float(r["centroid_lon"])) for r in csv.DictReader(handle)
        ]
    with (SHARED / "facilities_nl.csv").open(newline="", encoding="utf-8") as handle:
        plants = [(float(r["lat"]), float(r["lon"])) for r in csv.DictReader(handle)]
    return np.array(towns), np.array(plants)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--per-day", type=int, default=550)
    parser.add_argument("--permutations", type=int, default=999)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--facilities", type=int, default=400)
    parser.add_argument(
        "--near-limit",
        type=int,
        default=0,
        help="instead: inject this many clusters of 8-9 reporters (1.3 km, 45 h) one by one",
    )
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    towns, plants = centres()
    total = args.days * args.per_day
    around = np.where(rng.random(total) < 1 / 3, 1, 0)
    picks = np.where(
        around == 1,
        rng.integers(0, len(plants), total),
        rng.integers(0, len(towns), total),
    )
    base = np.where(around[:, None] == 1, plants[picks % len(plants)], towns[picks % len(towns)])
    lat = base[:, 0] + rng.normal(0, 0.02, total)  # ~2 km spread
    lon = base[:, 1] + rng.normal(0, 0.03, total)
    x, y = lon * METRES_PER_DEG_LON, lat * METRES_PER_DEG_LAT  # the scan's plane (service.plane)
    hour = rng.integers(0, args.days * 24, total)
    if args.near_limit:
        near_limit(rng, plants, x, y, hour, args)
        return
    started = time.perf_counter()
    clusters = scan(
        np.asarray(x),
        np.asarray(y),
        hour,
        today=args.days * 24 - 1,
        windows=HOURLY_WINDOWS,
        permutations=args.permutations,
        seed=args.seed,
        scans_per_day=24,
    )
    elapsed = time.perf_counter() - started
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"hourly scan: {total:,} reports over {args.days} days, {args.permutations} permutations: "
        f"{elapsed:.0f} s ({elapsed / 60:.1f} min), peak RSS {rss:.0f} MB"
    )
    for cluster in clusters[:3]:
        ri = cluster.recurrence_interval_days
        print(
            f"  cluster: {cluster.cases} cases (expected {cluster.expected:.1f}), "
            f"{cluster.window_days} h, RI {ri:.1f} days"
        )
    recurrence_timing(rng, args.facilities)

    detector = BurstDetector(threshold=10)
    moment = datetime(2026, 11, 23, tzinfo=UTC)
    count = 100_000
    started = time.perf_counter()
    for n in range(count):
        detector.observe(
            report_id=str(n),
            reporter_key=f"r{n % 5000}",
            category="odour",
            at=moment + timedelta(seconds=n * 3),
            x_m=float(x[n % total]),
            y_m=float(y[n % total]),
            facility_ids=["tata_steel_ijmuiden"] if n % 3 == 0 else [],
            recipients=["pv27"],
            received_at=moment + timedelta(seconds=n * 3 + 600),
        )
    per_report = (time.perf_counter() - started) / count * 1e6
    print(f"burst rule: {per_report:.1f} µs per report ({count:,} reports, one every 3 s)")


def near_limit(
    rng: np.random.Generator,
    plants: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    hour: np.ndarray,
    args: argparse.Namespace,
) -> None:
    """Issue 17 §6: 8-9 unique reporters within ~1.3 km over the last 45 hours, 1.5 km east of
    a random facility, each injected into the national stream alone and scanned hourly."""
    now = args.days * 24 - 1
    for trial in range(args.near_limit):
        plant = plants[rng.integers(0, len(plants))]
        k = int(rng.integers(8, 10))
        r, a = rng.uniform(0, 650, k), rng.uniform(0, 2 * np.pi, k)
        ix = plant[1] * METRES_PER_DEG_LON + 1500 + r * np.cos(a)
        iy = plant[0] * METRES_PER_DEG_LAT + r * np.sin(a)
        found = scan(
            np.concatenate([x, ix]),
            np.concatenate([y, iy]),
            np.concatenate([hour, now - rng.integers(0, 45, k)]),
            today=now,
            windows=HOURLY_WINDOWS,
            permutations=args.permutations,
            seed=trial,
            scans_per_day=24,
            max_clusters=3,
        )
        best = min(found, key=lambda c: np.hypot(c.centre_x - ix.mean(), c.centre_y - iy.mean()))
        near = int((np.hypot(x - ix.mean(), y - iy.mean()) < 1500).sum())
        print(
            f"{k} reporters, {near} reports a year within 1.5 km: nearest cluster {best.cases} "
            f"cases (expected {best.expected:.2f}), radius {best.radius_m:.0f} m, "
            f"{best.window_days} h, p {best.p_value:.4f}, RI {best.recurrence_interval_days:.1f} "
            f"days hourly ({1 / best.p_value:.0f} daily)"
        )


def recurrence_timing(rng: np.random.Generator, facilities: int) -> None:
    """Daily unique reporters of ``facilities`` facilities (levels 0.05-10 a day) over the
    history and evaluated days; every threshold calibrated afresh (an empty cache)."""
    today = datetime(2026, 11, 23, tzinfo=UTC).date()
    days = recurrence.HISTORY_DAYS + recurrence.EVALUATED_DAYS
    streams = []
    for _ in range(facilities):
        level = float(np.exp(rng.uniform(np.log(0.05), np.log(10.0))))
        counts = rng.poisson(level, days)
        streams.append({today - timedelta(days=days - 1 - d): int(c) for d, c in enumerate(counts)})
    started = time.perf_counter()
    episodes = sum(len(recurrence.episodes(daily, today)) for daily in streams)
    cold = time.perf_counter() - started
    started = time.perf_counter()
    for daily in streams:
        recurrence.episodes(daily, today)
    warm = time.perf_counter() - started
    print(
        f"recurrence: {facilities} facilities, {cold:.1f} s (thresholds calibrated), "
        f"{warm:.1f} s (cached); {episodes} episodes in {recurrence.EVALUATED_DAYS} null days"
    )


if __name__ == "__main__":
    main()
