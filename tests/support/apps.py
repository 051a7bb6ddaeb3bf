"""A service's FastAPI app running in the test's own event loop, called without a socket."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from services.runtime.service import ServiceRuntime
from tests.support.kafka import wait_for


@asynccontextmanager
async def in_process(app: FastAPI, base_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """Start the app's lifespan; yield a client for it once its broker connection is ready."""
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url) as client,
    ):
        runtime: ServiceRuntime = app.state.runtime
        await wait_for(lambda: runtime.connection.ready, timeout_s=30)
        yield client
