"""Intake: sustained accepted reports/s (durable commit, relay running) against the same
framework's bare endpoint in the same run, and p50/p99 at a steady 200 reports/s.

    .venv/bin/python -m benchmarks.intake_throughput [--seconds 20] [--database-url URL]

Installs `hey` itself (go install, into .cache/bin). SQLite (the default store) unless
--database-url is given.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.support import cpu_seconds, hey, local_broker, metric, server, uvicorn_argv
from services.runtime.migrations import upgrade
from tools.local.postgres import ThrowawayPostgres, free_port, install


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--workers", type=int, default=32, help="concurrent connections")
    parser.add_argument(
        "--postgres", action="store_true", help="a throwaway PostgreSQL instead of SQLite"
    )
    parser.add_argument(
        "--processes", type=int, default=1, help="server processes (bare and intake alike)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        body = tmp / "report.json"
        observed = (datetime.now(UTC) - timedelta(minutes=10)).isoformat()
        body.write_text(
            json.dumps(
                {
                    "category": "odour",
                    "lat": 52.49325,
                    "lon": 4.59954,
                    "observed_at": observed,
                    "intensity": 3,
                    "description": "Benchmark: zwavellucht bij de fabriek.",
                }
            )
        )
        with local_broker(tmp / "kafka") as bootstrap:
            bare_port = free_port()
            with server(
                uvicorn_argv("benchmarks.bare_endpoint:app", bare_port), {}, "/docs", bare_port
            ):
                bare = hey(
                    f"http://127.0.0.1:{bare_port}/api/v1/reports",
                    body,
                    seconds=args.seconds,
                    workers=args.workers,
                )
            port = free_port()
            database_url = f"sqlite+aiosqlite:///{tmp / 'intake.sqlite'}"
            if args.postgres:
                postgres = ThrowawayPostgres(install()).start()
                database_url = postgres.create_database("intake")
            upgrade("intake", database_url)
            env = {
                "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
                "BUURSIGNAAL_INTAKE_DATABASE_URL": database_url,
                "BUURSIGNAAL_INTAKE_RATE_LIMIT_DEVICE_SECONDS": "0",
                "BUURSIGNAAL_INTAKE_RATE_LIMIT_IP_PER_HOUR": "0",
            }
            argv = [
                *uvicorn_argv("services.intake.app:create_app", port),
                "--factory",
                "--workers",
                str(args.processes),
            ]
            with server(argv, env, "/ready", port) as intake:
                url = f"http://127.0.0.1:{port}/api/v1/reports"
                full = hey(url, body, seconds=args.seconds, workers=args.workers)
                backlog_at_end = metric(port, "buursignaal_outbox_backlog")
                drain_started = time.monotonic()
                while metric(port, "buursignaal_outbox_backlog") > 0:
                    time.sleep(0.2)
                drain_s = time.monotonic() - drain_started
                cpu_before = cpu_seconds(intake.pid)
                steady = hey(url, body, seconds=args.seconds, workers=10, qps=20)
                cpu_per_report_ms = (
                    1000
                    * (cpu_seconds(intake.pid) - cpu_before)
                    / max(1, steady.statuses.get(202, 0))
                )
                published = metric(
                    port,
                    'buursignaal_outbox_published_total{topic="buursignaal.report.received.v1"}',
                )
    accepted = full.statuses.get(202, 0)
    print(f"bare endpoint:       {bare.requests_per_s:8.0f} req/s  statuses {bare.statuses}")
    print(f"intake (durable):    {full.requests_per_s:8.0f} req/s  statuses {full.statuses}")
    print(f"ratio intake / bare: {full.requests_per_s / bare.requests_per_s:8.1%}")
    print(f"outbox backlog at end of load: {backlog_at_end:.0f} rows, drained in {drain_s:.1f} s")
    print(
        f"published by the relay (one process's count with --processes > 1): {published:.0f}"
        f" (accepted in both runs: {accepted + steady.statuses.get(202, 0)})"
    )
    print(
        f"steady 200/s: achieved {steady.requests_per_s:.0f} req/s, p50 {steady.p50_ms:.1f} ms,"
        f" p99 {steady.p99_ms:.1f} ms, statuses {steady.statuses}"
    )
    print(
        f"intake CPU per accepted report at the steady rate: {cpu_per_report_ms:.2f} ms"
        " (one process; relay included)"
    )


if __name__ == "__main__":
    main()
