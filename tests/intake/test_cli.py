"""Intake administration from the command line."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from sqlmodel import select

from services.intake.actions import key_digest
from services.intake.models import Open311Client
from services.runtime.database import make_engine, session_factory


def test_register_an_open311_client(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'intake.sqlite'}"
    result = subprocess.run(
        [sys.executable, "-m", "tools.cli", "intake", "add-open311-client", "meldapp"],
        env={**os.environ, "BUURSIGNAAL_INTAKE_DATABASE_URL": url},
        capture_output=True,
        text=True,
        check=True,
    )
    key = result.stdout.strip().rsplit(" ", 1)[-1]

    async def stored() -> list[Open311Client]:
        engine = make_engine(url)
        async with session_factory(engine)() as session:
            rows = list((await session.exec(select(Open311Client))).all())
        await engine.dispose()
        return rows

    [client] = asyncio.run(stored())
    assert client.client_id == "meldapp"
    assert client.key_digest == key_digest(key)
    assert key not in (tmp_path / "intake.sqlite").read_bytes().decode("latin-1")
