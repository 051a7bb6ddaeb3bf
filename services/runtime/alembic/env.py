"""The Alembic environment every service shares (see services.runtime.migrations)."""

from services.runtime.migrations import run_env

run_env()
