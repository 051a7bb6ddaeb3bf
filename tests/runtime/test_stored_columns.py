"""The column types every service stores instants and enum members with, on SQLite and PostgreSQL.

A report observed at 20:35 Amsterdam time (``+01:00``, the web form's normal path) was once
stored as 20:35 UTC on SQLite, which drops the offset, and shown an hour late. ``UTCDateTime``
converts to UTC on the way in and hands back aware UTC on the way out, on both databases.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, insert, select, text
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import create_async_engine

from schemas.leg import LegStatus
from services.runtime.database import UTCDateTime, enum_column

AMSTERDAM_WINTER = timezone(timedelta(hours=1))
AMSTERDAM_SUMMER = timezone(timedelta(hours=2))

metadata = MetaData()
moments = Table(
    "moment",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UTCDateTime(), nullable=False),
    Column("status", enum_column(LegStatus, length=32).sa_column.type, nullable=False),
)


async def _round_trip(database_url: str, at: datetime, status: Any = LegStatus.DELIVERED) -> Any:
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
            await connection.execute(insert(moments), {"id": 1, "at": at, "status": status})
            row = (await connection.execute(select(moments))).one()
            raw = (await connection.execute(text("SELECT status FROM moment"))).scalar_one()
        return row, raw
    finally:
        await engine.dispose()


@pytest.mark.parametrize(
    "observed",
    [
        datetime(2026, 12, 1, 20, 35, tzinfo=AMSTERDAM_WINTER),
        datetime(2026, 7, 1, 20, 35, tzinfo=AMSTERDAM_SUMMER),
        datetime(2026, 12, 1, 19, 35, tzinfo=UTC),
    ],
    ids=["+01:00", "+02:00", "Z"],
)
async def test_an_instant_comes_back_as_the_same_moment_in_utc(
    database_url: str, observed: datetime
) -> None:
    row, _ = await _round_trip(database_url, observed)
    assert row.at == observed
    assert row.at.utcoffset() == timedelta(0)
    assert row.at.astimezone(observed.tzinfo).strftime("%H:%M") == observed.strftime("%H:%M")


async def test_a_naive_instant_is_refused(database_url: str) -> None:
    with pytest.raises(StatementError, match="naive datetime"):
        await _round_trip(database_url, datetime(2026, 12, 1, 20, 35))


async def test_an_enum_member_is_stored_as_its_value_and_read_back_as_the_member(
    database_url: str,
) -> None:
    row, raw = await _round_trip(database_url, datetime.now(UTC), LegStatus.IN_PROGRESS)
    assert row.status is LegStatus.IN_PROGRESS
    assert raw == "in_progress"


async def test_an_enum_column_also_takes_the_stored_string(database_url: str) -> None:
    row, _ = await _round_trip(database_url, datetime.now(UTC), "acknowledged")
    assert row.status is LegStatus.ACKNOWLEDGED
