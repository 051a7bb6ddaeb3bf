# The two commands of the README.
.PHONY: up test bench

up:  ## set everything up and start broker, Keycloak + intake, router, notifier (Ctrl-C stops)
	deploy/local/bootstrap.sh
	.venv/bin/buursignaal stack up --keycloak

test:  ## lint, types and the whole test suite on the real broker, SQLite and PostgreSQL
	deploy/local/test.sh

bench:  ## every benchmark in a short run, then their table (installs `hey` into .cache/bin)
	.venv/bin/python -m benchmarks.run_all
