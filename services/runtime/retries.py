"""Backoff policies on tenacity: one way to try again, for every loop that waits out a fault.

``bounded`` retries what ``classify`` does not refuse a fixed number of times (a consumer's
event); ``patient`` retries until it succeeds or ``stop`` is set (connecting to Kafka, a
background round), sleeping in a way that ``stop`` interrupts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_never,
    wait_exponential,
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

    async def sleep(seconds: float) -> None:
        if stop is None:
            await asyncio.sleep(seconds)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=seconds)

    return AsyncRetrying(
        stop=give_up,
        wait=wait_exponential(multiplier=initial_s, exp_base=2, max=max_s),
        retry=retry_if_exception(lambda error: isinstance(error, Exception)),
        sleep=sleep,
        before_sleep=on_retry,
        reraise=True,
    )


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
