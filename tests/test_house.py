"""The house measures of issue 12 stay where they were brought (docs/house.md)."""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Sequence
from importlib import import_module
from pathlib import Path

import pytest
from fastapi import APIRouter
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from tools.house import long_functions, type_ignores

MOST_LONG_FUNCTIONS = 8
MOST_TYPE_IGNORES = 5


def test_few_functions_of_sixty_lines_or_more() -> None:
    found = long_functions()
    assert len(found) <= MOST_LONG_FUNCTIONS, [f"{f.path}:{f.line} {f.name}" for f in found]


def test_few_comments_silence_mypy() -> None:
    assert len(type_ignores()) <= MOST_TYPE_IGNORES, type_ignores()


def test_the_counter_sees_a_long_function(tmp_path: Path) -> None:
    root = tmp_path
    (root / "services").mkdir()
    body = "\n".join(f"    x{i} = {i}" for i in range(60))
    (root / "services" / "long.py").write_text(f"def long() -> None:\n{body}\n# type: ignore\n")
    assert [f.name for f in long_functions(root)] == ["long"]
    assert type_ignores(root) == ["services/long.py:62"]


def _sync_dependencies(dependant: Dependant) -> Iterator[str]:
    for dependency in dependant.dependencies:
        call = dependency.call
        if call is not None and not (
            inspect.iscoroutinefunction(call) or inspect.iscoroutinefunction(type(call).__call__)
        ):
            yield getattr(call, "__qualname__", repr(call))
        yield from _sync_dependencies(dependency)


def _api_routes(routes: Sequence[BaseRoute]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        included = getattr(route, "original_router", None)  # FastAPI's include_router, lazily
        if isinstance(included, APIRouter):
            yield from _api_routes(included.routes)


@pytest.mark.parametrize("service", ["intake", "router", "notifier"])
def test_no_route_depends_on_a_plain_function(service: str) -> None:
    """FastAPI runs a ``def`` dependency in its thread pool, on every request: a hand-off that
    cost intake about a sixth of its throughput once. Dependencies are ``async def``."""
    app = import_module(f"services.{service}.app").create_app()
    found = {
        f"{route.path}: {name}"
        for route in _api_routes(app.routes)
        for name in _sync_dependencies(route.dependant)
    }
    assert not found
