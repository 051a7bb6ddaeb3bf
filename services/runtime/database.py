"""Database engines: SQLite (embedded default) and PostgreSQL (production), both async.

Schema changes go only through each service's Alembic migrations (``services.runtime.migrations``).
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, DateTime, Dialect, Table, TypeDecorator, event, insert
from sqlalchemy import Enum as SQLEnum
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session
from sqlmodel import Field
from sqlmodel.ext.asyncio.session import AsyncSession

SessionFactory = async_sessionmaker[AsyncSession]


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def sync_url(url: str) -> str:
    """The same database for synchronous tools (Alembic): drop the async driver."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.set(drivername="sqlite").render_as_string(hide_password=False)
    return url  # psycopg 3 serves sync and async under one driver name


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def make_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    if is_sqlite(url):
        engine = create_async_engine(url, connect_args={"timeout": 10})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


def session_factory(engine: AsyncEngine) -> SessionFactory:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


_WRITE_LOCKS: weakref.WeakKeyDictionary[AsyncEngine, asyncio.Lock] = weakref.WeakKeyDictionary()


def engine_of(sessions: SessionFactory) -> AsyncEngine:
    engine: AsyncEngine = sessions.kw["bind"]
    return engine


@contextlib.asynccontextmanager
async def writing(engine: AsyncEngine) -> AsyncIterator[None]:
    """Serialise write transactions on SQLite within this process.

    SQLite allows one writer at a time; without this, concurrent transactions wait in SQLite's
    busy handler, which sleeps in steps of up to 100 ms. PostgreSQL needs no such lock.
    """
    if engine.dialect.name != "sqlite":
        yield
        return
    lock = _WRITE_LOCKS.get(engine)
    if lock is None:
        lock = _WRITE_LOCKS[engine] = asyncio.Lock()
    async with lock:
        yield


_STAGED = "buursignaal.staged_inserts"


def stage_insert(session: AsyncSession, table: Table, values: dict[str, Any]) -> None:
    """Insert ``values`` into ``table`` when the session's transaction commits.

    Rows staged in one transaction are written by one multi-row INSERT per table (in the order
    the tables were first staged) just before the commit, inside the same transaction: the
    per-event cost of a consumer that writes one row per event, without ORM objects.
    """
    staged: dict[Table, list[dict[str, Any]]] = session.info.setdefault(_STAGED, {})
    staged.setdefault(table, []).append(values)


def staged_inserts(session: AsyncSession, table: Table) -> list[dict[str, Any]]:
    """The rows staged for ``table`` in this transaction (not yet written)."""
    staged: dict[Table, list[dict[str, Any]]] = session.info.get(_STAGED, {})
    return staged.get(table, [])


@event.listens_for(Session, "before_commit")
def _write_staged(session: Session) -> None:
    staged: dict[Table, list[dict[str, Any]]] | None = session.info.pop(_STAGED, None)
    for table, rows in (staged or {}).items():
        if rows:
            session.connection().execute(insert(table), rows)


_UNDO = "buursignaal.undo"


def on_rollback(session: AsyncSession, undo: Callable[[], None]) -> None:
    """Run ``undo`` if this transaction rolls back (for state kept outside the database)."""
    session.info.setdefault(_UNDO, []).append(undo)


@event.listens_for(Session, "after_rollback")
def _drop_staged(session: Session) -> None:
    session.info.pop(_STAGED, None)
    for undo in reversed(session.info.pop(_UNDO, [])):
        undo()


@event.listens_for(Session, "after_commit")
def _forget_undo(session: Session) -> None:
    session.info.pop(_UNDO, None)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and read back as an aware UTC datetime, on either database.

    Naive datetimes are refused on the way in: a moment without a zone is a bug.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: give it a time zone")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utc_column(*, nullable: bool = False) -> Any:
    """A SQLModel field for an instant: stored in UTC, read back aware (``UTCDateTime``)."""
    return Field(
        default=None if nullable else ...,
        sa_column=Column(UTCDateTime(), nullable=nullable),
    )


def enum_column(
    kind: type[StrEnum],
    *,
    length: int,
    nullable: bool = False,
    default: StrEnum | None = None,
    primary_key: bool = False,
) -> Any:
    """A SQLModel field holding one of ``kind``'s members, stored as its value in a string column.

    Reads give the member back (an unknown stored value is an error, not a silent string); no
    database enum type and no CHECK constraint, so a new member needs no migration.
    """
    column_type = SQLEnum(
        kind,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda members: [member.value for member in members],
    )
    return Field(
        default=default if default is not None or nullable else ...,
        sa_column=Column(column_type, nullable=nullable, primary_key=primary_key),
    )


def table_of(model: type[Any]) -> Table:
    """The Core table of a SQLModel table class (for bulk statements on the hot path)."""
    table: Table = model.__table__
    return table


@contextlib.asynccontextmanager
async def write_transaction(sessions: SessionFactory) -> AsyncIterator[AsyncSession]:
    """A session in a write transaction on this service's database, committed on exit.

    On SQLite the process's writers take turns (``writing``); an error rolls back and is raised.
    """
    async with writing(engine_of(sessions)), sessions() as session, session.begin():
        yield session


def dialect_insert(session: AsyncSession) -> Any:
    """The session's dialect ``insert`` (PostgreSQL or SQLite), for ``ON CONFLICT`` clauses."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    return pg_insert if dialect == "postgresql" else sqlite_insert
