"""The background rounds and the stored backoff on tenacity (``services.runtime.retries``)."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest

from services.runtime.retries import every, stored_delay

log = logging.getLogger("tests.retries")


async def test_a_round_that_fails_is_logged_and_the_next_one_comes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stop = asyncio.Event()
    rounds: list[int] = []

    async def work() -> int:
        rounds.append(len(rounds))
        if len(rounds) == 2:
            raise RuntimeError("the database is away")
        if len(rounds) == 4:
            stop.set()
        return len(rounds)

    with caplog.at_level(logging.ERROR, logger="tests.retries"):
        await asyncio.wait_for(every(0.01, work, "the round", log)(stop), timeout=5)
    assert rounds == [0, 1, 2, 3], "rounds go on after a failure and end when stop is set"
    (failed,) = caplog.records
    assert failed.getMessage() == "the round failed; trying again in 0 s"
    assert failed.exc_info is not None
    assert isinstance(failed.exc_info[1], RuntimeError)


async def test_stop_ends_the_wait_and_no_round_follows() -> None:
    stop = asyncio.Event()
    rounds: list[str] = []

    async def work() -> None:
        rounds.append("round")

    task = asyncio.create_task(every(3600, work, "hourly", log)(stop))
    await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(task, timeout=5)
    assert rounds == ["round"]

    waiting = asyncio.create_task(every(3600, work, "hourly", log, first_wait=True)(stop))
    await asyncio.wait_for(waiting, timeout=5)
    assert rounds == ["round"], "stop was set: the first wait ends and no round runs"


async def test_a_cancelled_round_is_not_retried() -> None:
    started = asyncio.Event()

    async def work() -> None:
        started.set()
        await asyncio.sleep(3600)

    task = asyncio.create_task(every(0.01, work, "slow", log)(asyncio.Event()))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, timeout=5)


def test_the_stored_delay_doubles_up_to_its_limit() -> None:
    delays = [stored_delay(n, initial_s=10, max_s=3600) for n in (1, 2, 3, 9, 10, 12, 5000)]
    seconds = [10, 20, 40, 2560, 3600, 3600, 3600]
    assert delays == [timedelta(seconds=s) for s in seconds]
