"""Exports of the contracts the services publish: one AsyncAPI document per service."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from schemas.topics import all_static_topics
from services.runtime.clock import SystemClock
from services.runtime.specification import asyncapi_document

ASYNCAPI_DIR = Path(__file__).resolve().parents[1] / "schemas" / "asyncapi"
OPENAPI_DIR = Path(__file__).resolve().parents[1] / "schemas" / "openapi"


def asyncapi_documents() -> dict[str, dict[str, Any]]:
    from services.intake.app import build_runtime_for as intake
    from services.intake.settings import IntakeSettings
    from services.notifier.app import build_runtime_for as notifier
    from services.notifier.settings import NotifierSettings
    from services.router.app import build_runtime_for as router
    from services.router.settings import RouterSettings

    clock = SystemClock()
    runtimes = {
        "intake": (intake(IntakeSettings(), clock), "Residents' reports, accepted and published."),
        "router": (router(RouterSettings(), clock), "Routing decisions and deliveries."),
        "notifier": (notifier(NotifierSettings(), clock), "Legs, clocks, escalations, patterns."),
    }
    topics = list(all_static_topics())
    return {
        name: asyncapi_document(
            runtime.broker, title=f"Buursignaal {name}", description=text, topics=topics
        )
        for name, (runtime, text) in runtimes.items()
    }


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _stale(documents: dict[str, dict[str, Any]], directory: Path) -> list[str]:
    """Committed exports that are missing or differ from ``documents``."""
    stale = []
    for name, document in documents.items():
        path = directory / f"{name}.json"
        if not path.exists() or path.read_text() != render(document):
            stale.append(str(path))
    return stale


def _write(documents: dict[str, dict[str, Any]], directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, document in documents.items():
        path = directory / f"{name}.json"
        path.write_text(render(document))
        written.append(path)
    return written


def openapi_documents() -> dict[str, dict[str, Any]]:
    """The HTTP API of each service, as FastAPI generates it (no broker or database is used)."""
    from services.intake.app import create_app as intake_app

    return {"intake": intake_app().openapi()}


def stale_asyncapi(directory: Path = ASYNCAPI_DIR) -> list[str]:
    return _stale(asyncapi_documents(), directory)


def write_asyncapi(directory: Path = ASYNCAPI_DIR) -> list[Path]:
    return _write(asyncapi_documents(), directory)


def stale_openapi(directory: Path = OPENAPI_DIR) -> list[str]:
    return _stale(openapi_documents(), directory)


def write_openapi(directory: Path = OPENAPI_DIR) -> list[Path]:
    return _write(openapi_documents(), directory)
