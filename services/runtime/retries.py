"""Backoff policies on tenacity: one way to try again, for every loop that waits out a fault.

``bounded`` retries what ``classify`` does not refuse a fixed number of times (a consumer's
event); ``patient`` retries until it succeeds or ``stop`` is set (connecting to Kafka, the
outbox relay), sleeping in a way that ``stop`` interrupts. ``every`` runs a background round
at a fixed interval until ``stop`` is set, a failed round logged and the next one tried all the
same (the ladder tick, the mail round, contact retention). ``stored_delay`` is the same
exponential policy for work that keeps its own count of tries and is taken up again from the
database (a mail job), not slept on in a loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from datetime import timedelta
from typing import Any

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    retry_if_result,
    stop_after_attempt,
    stop_never,
    wait_exponential,
    wait_fixed,
)
from tenacity.stop import StopBaseT

from services.runtime.errors import Verdict, classify


def _worth_retrying(error: BaseException) -> bool:
    """Not a refusal, and not a cancellation (``CancelledError`` is no ``Exception``)."""
    return isinstance(error, Exception) and classify(error) is not Verdict.REFUSED


def bounded(
    attempts: int,
    *,
    initial_s: float,
    on_retry: Callable[[RetryCallState], None] | None = None,
) -> AsyncRetrying:
    """Up to ``attempts`` tries, waiting ``initial_s``, twice that, ...; refusals at once.

    The last error is raised as it is; ``statistics["attempt_number"]`` tells how many tries.
    """
    return AsyncRetrying(
        stop=stop_after_attempt(attempts),
        wait=wait_exponential(multiplier=initial_s, exp_base=2),
        retry=retry_if_exception(_worth_retrying),
        before_sleep=on_retry,
        reraise=True,
    )


def _transient(error: BaseException) -> bool:
    return isinstance(error, Exception) and classify(error) is Verdict.TRANSIENT


def until_available(
    *, initial_s: float, max_s: float, on_retry: Callable[[RetryCallState], None] | None = None
) -> AsyncRetrying:
    """Retry for as long as the failure is *transient* (a database, broker or mail server
    down), with backoff capped at ``max_s``; any other failure is raised at once."""
    return AsyncRetrying(
        stop=stop_never,
        wait=wait_exponential(multiplier=initial_s, exp_base=2, max=max_s),
        retry=retry_if_exception(_transient),
        before_sleep=on_retry,
        reraise=True,
    )


def patient(
    *,
    initial_s: float,
    max_s: float,
    stop: asyncio.Event | None = None,
    on_retry: Callable[[RetryCallState], None] | None = None,
) -> AsyncRetrying:
    """Retry any ``Exception`` with backoff from ``initial_s`` up to ``max_s``, until it
    succeeds or ``stop`` is set (then the last error is raised; ``stop.is_set()`` tells)."""
    give_up: StopBaseT = stop_never
    if stop is not None:
        event = stop

        def give_up(_state: RetryCallState) -> bool:
            return event.is_set()

    return AsyncRetrying(
        stop=give_up,
        wait=wait_exponential(multiplier=initial_s, exp_base=2, max=max_s),
        retry=retry_if_exception(_is_error),
        sleep=_sleep_until(stop),
        before_sleep=on_retry,
        reraise=True,
    )


def _is_error(error: BaseException) -> bool:
    """An ``Exception``: a cancellation is never retried."""
    return isinstance(error, Exception)


def _sleep_until(stop: asyncio.Event | None) -> Callable[[float], Awaitable[None]]:
    """A sleep that ends early when ``stop`` is set."""

    async def sleep(seconds: float) -> None:
        if stop is None:
            await asyncio.sleep(seconds)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=seconds)

    return sleep


BackgroundRound = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


def every(
    interval_s: float,
    work: Callable[[], Awaitable[object]],
    what: str,
    log: logging.Logger,
    *,
    first_wait: bool = False,
) -> BackgroundRound:
    """A background task that awaits ``work`` every ``interval_s`` until ``stop`` is set.

    A round that fails is logged with its traceback and the next one comes after the same
    interval (these are rounds, not a fault waited out: no backoff). ``first_wait``: the
    first round comes after one interval too. ``stop`` ends the wait between rounds at once.
    """

    def failed(state: RetryCallState) -> None:
        if state.outcome is not None and state.outcome.failed:
            error = state.outcome.exception()
            log.error("%s failed; trying again in %.0f s", what, interval_s, exc_info=error)

    async def rounds(stop: asyncio.Event) -> None:
        sleep = _sleep_until(stop)
        if first_wait:
            await sleep(interval_s)
        retrying = AsyncRetrying(
            stop=stop_never,
            wait=wait_fixed(interval_s),
            retry=retry_if_exception(_is_error) | retry_if_result(lambda _result: True),
            sleep=sleep,
            before_sleep=failed,
        )
        async for attempt in retrying:
            if stop.is_set():
                return
            with attempt:
                await work()

    return rounds


def stored_delay(failures: int, *, initial_s: float, max_s: float) -> timedelta:
    """How long work waits after its ``failures``-th failed try when the tries are counted
    and scheduled in the database rather than in a loop: tenacity's exponential policy,
    ``initial_s`` after the first failure, twice that after the second, ... at most ``max_s``."""
    state = RetryCallState(AsyncRetrying(), fn=None, args=(), kwargs={})
    state.attempt_number = failures
    policy = wait_exponential(multiplier=initial_s, exp_base=2, max=max_s)
    return timedelta(seconds=policy(state))


def log_retry(log: logging.Logger, what: str) -> Callable[[RetryCallState], None]:
    """A ``before_sleep`` hook: one warning per failed try, with the error and the wait."""

    def hook(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        wait = state.next_action.sleep if state.next_action is not None else 0.0
        log.warning(
            "%s failed (attempt %d: %s: %s); retrying in %.1f s",
            what,
            state.attempt_number,
            type(error).__name__,
            error,
            wait,
        )

    return hook
