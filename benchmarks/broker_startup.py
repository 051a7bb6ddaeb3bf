"""Start-up time of the local KRaft broker: `up` until the broker logs "Kafka Server started".

    .venv/bin/python -m benchmarks.broker_startup --runs 5

The first run formats a fresh data directory; later runs restart on the existing one.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from tools.local import kafka
from tools.local.postgres import free_port


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = kafka.BrokerConfig(
            data_dir=Path(tmp) / "kafka", port=free_port(), controller_port=free_port()
        )
        kafka.fetch_jars(config)
        cold: list[float] = []
        for run in range(args.runs):
            fresh = not config.log_dirs.exists()
            started = time.monotonic()
            status = kafka.up(config)
            cold.append(time.monotonic() - started)
            stop_started = time.monotonic()
            kafka.down(config, wipe=(run % 2 == 1))
            print(
                f"run {run + 1}: up {cold[-1]:.2f} s (broker says {status.startup_seconds:.2f} s), "
                f"down {time.monotonic() - stop_started:.2f} s, "
                f"{'fresh' if fresh else 'existing'} data directory"
            )
    print(f"median up: {statistics.median(cold):.2f} s, max {max(cold):.2f} s over {args.runs}")


if __name__ == "__main__":
    main()
