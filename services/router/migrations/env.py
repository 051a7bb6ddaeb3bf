"""Alembic environment: shared by every service (see services.runtime.migrations)."""

from services.runtime.migrations import run_env

run_env()
