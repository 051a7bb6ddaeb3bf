"""Group commit: many small write units committed in one transaction by one writer task.

Under load, a report per transaction spends most of its time on the driver's round trips and
on waiting for the database's single writer; committing the units that arrived meanwhile
together, with one multi-row INSERT per table, costs one round of those for all of them. A
unit whose batch fails (a unique key taken by a concurrent retry, say) is retried alone, so
one bad unit never fails its neighbours.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.runtime.database import writing

Row = tuple[Table, dict[str, Any]]
WriteUnit = Sequence[Sequence[Row]]
"""Rows to insert, in phases: every unit's phase 0 is inserted before any phase 1 (rows that
refer to others by foreign key come in a later phase)."""
Returned = list[list[tuple[Any, ...]]]
"""Per phase, per row: the row's primary key as the database assigned it."""


class GroupCommitter:
    def __init__(self, engine: AsyncEngine, *, max_batch: int = 500) -> None:
        self._engine = engine
        self._max_batch = max_batch
        self._queue: asyncio.Queue[tuple[WriteUnit, asyncio.Future[Returned]]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def commit(self, unit: WriteUnit) -> Returned:
        """Insert ``unit``'s rows; return their primary keys once they are committed."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="group-commit")
        future: asyncio.Future[Returned] = asyncio.get_running_loop().create_future()
        await self._queue.put((unit, future))
        return await future

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                results = await self._write([unit for unit, _ in batch])
            except Exception:
                await self._one_by_one(batch)  # isolate the failing unit(s)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                _settle(future, result)

    async def _one_by_one(self, batch: list[tuple[WriteUnit, asyncio.Future[Returned]]]) -> None:
        for unit, future in batch:
            try:
                [result] = await self._write([unit])
            except Exception as error:
                _settle(future, error=error)
            else:
                _settle(future, result)

    async def _write(self, units: list[WriteUnit]) -> list[Returned]:
        results: list[Returned] = [[[] for _ in unit] for unit in units]
        async with writing(self._engine), self._engine.begin() as connection:
            for phase in range(max(len(unit) for unit in units)):
                await self._insert_phase(connection, units, phase, results)
        return results

    async def _insert_phase(
        self,
        connection: AsyncConnection,
        units: list[WriteUnit],
        phase: int,
        results: list[Returned],
    ) -> None:
        by_table: dict[Table, list[tuple[int, dict[str, Any]]]] = defaultdict(list)
        for index, unit in enumerate(units):
            if phase < len(unit):
                for table, values in unit[phase]:
                    by_table[table].append((index, values))
        for table, entries in by_table.items():
            statement = insert(table).returning(
                *table.primary_key.columns, sort_by_parameter_order=True
            )
            returned = await connection.execute(statement, [values for _, values in entries])
            for (index, _), key in zip(entries, returned.all(), strict=True):
                results[index][phase].append(tuple(key))


def _settle(
    future: asyncio.Future[Returned],
    result: Returned | None = None,
    *,
    error: Exception | None = None,
) -> None:
    """Give a waiting submitter its keys or its error (unless it stopped waiting)."""
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        assert result is not None
        future.set_result(result)
