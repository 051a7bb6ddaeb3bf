"""The router's resolution step alone, over the full national registry, and its memory.

    .venv/bin/python -m benchmarks.router_resolution [--reports 20000]

Reports are spread over the Netherlands' land (random points, seeded; 1 in 50 left where it
fell, often at sea or abroad), a third of them odour near the 63 facilities, with a fixed
southerly wind. Prints µs per report and the process's
resident memory after loading the reference data.
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import time
from datetime import UTC, datetime
from uuid import uuid4

from schemas.report import Category, Location, LocationSource, Report
from services.router.app import build_resolvers
from services.router.settings import RouterSettings

OBSERVED = datetime(2026, 11, 23, 10, tzinfo=UTC)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reports", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    started = time.perf_counter()
    resolver = build_resolvers(RouterSettings(fixed_wind_from_deg=180.0)).latest
    load_s = time.perf_counter() - started
    rng = random.Random(args.seed)
    facilities = list(resolver.registry.facilities.values())
    reports = []
    categories = list(Category)
    for i in range(args.reports):
        if i % 3 == 0:
            facility = rng.choice(facilities)
            lat, lon = (
                facility.lat + rng.uniform(-0.03, 0.03),
                facility.lon + rng.uniform(-0.04, 0.04),
            )
            category = Category.ODOUR
        else:
            lat, lon = rng.uniform(50.8, 53.4), rng.uniform(3.5, 7.1)
            while i % 50 and resolver.places.locate_exactly(lat, lon).municipality is None:
                lat, lon = rng.uniform(50.8, 53.4), rng.uniform(3.5, 7.1)  # residents live on land
            category = rng.choice(categories)
        reports.append(
            Report(
                report_id=uuid4(),
                reporter_key="0" * 64,
                channel="app",
                category=category,
                location=Location(lat=lat, lon=lon, source=LocationSource.WGS84),
                observed_at=OBSERVED,
                received_at=OBSERVED,
            )
        )
    outcomes: dict[str, list[float]] = {}
    timings = []
    for report in reports:
        t0 = time.perf_counter()
        resolution = resolver.resolve(report)
        elapsed = time.perf_counter() - t0
        timings.append(elapsed)
        outcomes.setdefault(resolution.outcome, []).append(elapsed)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"reference + rules + wind loaded in {load_s:.2f} s")
    for outcome, spent in sorted(outcomes.items()):
        print(
            f"{outcome:>10}: {len(spent):6d} reports, mean {statistics.fmean(spent) * 1e6:.1f} µs"
        )
    print(
        f"resolution: mean {statistics.fmean(timings) * 1e6:.1f} µs, "
        f"median {statistics.median(timings) * 1e6:.1f} µs, "
        f"p99 {sorted(timings)[int(len(timings) * 0.99)] * 1e6:.1f} µs per report"
    )
    print(f"peak resident memory: {rss_mb:.0f} MB")


if __name__ == "__main__":
    main()
