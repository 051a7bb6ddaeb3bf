"""``make bench``: every benchmark in a short run, then one table line per benchmark.

Each line: the benchmark, its figure, the ceiling it is measured against (a bare endpoint or
passthrough in the same run, or the issue's target) and the ratio figure / ceiling. The short
runs show that everything works and roughly where it stands; the figures recorded in
benchmarks/README.md come from the longer runs documented there.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Benchmark:
    module: str
    args: tuple[str, ...]
    figure: str
    """A regular expression whose group is the figure in the benchmark's output."""
    unit: str
    ceiling: str | None = None
    """A regular expression for the ceiling measured in the same run ..."""
    target: float | None = None
    """... or the issue's fixed target when there is none."""


PER_S = r"\s+([\d.]+) (?:req|reports|records|status events)/s"
"""A rate as the benchmarks print it: ``  1234 req/s``."""

PASSTHROUGH = "bare passthrough:" + PER_S
ROUTER = "router:" + PER_S
MEAN_US = r"resolution: mean ([\d.]+) µs"
SCAN = ("--days", "60", "--per-day", "100", "--permutations", "99")
BENCHMARKS = (
    Benchmark("broker_startup", ("--runs", "2"), r"median up: ([\d.]+) s", "s", target=5.0),
    Benchmark(
        "intake_throughput",
        ("--seconds", "5"),
        "intake .durable.:" + PER_S,
        "req/s",
        "bare endpoint:" + PER_S,
    ),
    Benchmark("router_throughput", ("--reports", "2000"), ROUTER, "reports/s", PASSTHROUGH),
    Benchmark("router_resolution", ("--reports", "5000"), MEAN_US, "µs", target=50.0),
    Benchmark(
        "notifier_ladder",
        ("--legs", "20000", "--events", "2000"),
        "notifier:" + PER_S,
        "events/s",
        PASSTHROUGH,
    ),
    Benchmark("pattern_scan", SCAN, r"burst rule: ([\d.]+) µs per report", "µs"),
    Benchmark(
        "end_to_end_latency",
        ("--rate", "20", "--seconds", "20"),
        "delivered at" + PER_S,
        "reports/s",
        "intake accepted" + PER_S,
    ),
)
"""Short runs: ``make bench`` finishes in a few minutes on this machine."""


def _found(pattern: str | None, output: str) -> float | None:
    match = re.search(pattern, output) if pattern else None
    return float(match.group(1)) if match else None


def run(benchmark: Benchmark) -> str:
    """Run one benchmark; its table line (or why it has none)."""
    argv = [sys.executable, "-m", f"benchmarks.{benchmark.module}", *benchmark.args]
    started = time.monotonic()
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    spent = time.monotonic() - started
    figure = _found(benchmark.figure, done.stdout)
    if done.returncode != 0 or figure is None:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        return f"{benchmark.module:<20} FAILED (exit {done.returncode}): {tail[0]}"
    ceiling = _found(benchmark.ceiling, done.stdout) if benchmark.ceiling else benchmark.target
    kind = "target" if benchmark.ceiling is None else "ceiling"
    limit = f"{kind} {ceiling:,.1f}" if ceiling else "—"
    ratio = f"{figure / ceiling:6.1%}" if ceiling else "—"
    return (
        f"{benchmark.module:<20} {figure:>10,.1f} {benchmark.unit:<10} {limit:<20} {ratio:>7}"
        f"   ({spent:.0f} s)"
    )


def main() -> int:
    lines = []
    for benchmark in BENCHMARKS:
        print(f"bench: {benchmark.module} {' '.join(benchmark.args)}", flush=True)
        lines.append(run(benchmark))
    print(f"\n{'benchmark':<20} {'figure':>10} {'unit':<10} {'ceiling / target':<20} {'ratio':>7}")
    for line in lines:
        print(line)
    return 1 if any("FAILED" in line for line in lines) else 0


if __name__ == "__main__":
    sys.exit(main())
