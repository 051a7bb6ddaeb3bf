"""What every service's OpenAPI document says besides what FastAPI derives from the routes.

FastAPI documents a route's success answer and a 422 it never sends (validation errors are
400 problem+json here, ``services.runtime.problems``). ``document_problems`` completes each
operation with the answers the shared edge gives: 400 when it takes input, 404 when its path
names something, 401 when it is secured, 415 when it takes a JSON body, 503 when a dependency
is down; all as problem+json. It also moves JSON Schema ``$defs`` that models embed in a
hand-written body schema into ``components/schemas``, so every ``$ref`` resolves, and says
that ``/metrics`` is Prometheus text.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from services.runtime.problems import PROBLEM_JSON

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details",
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "invalidParams": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "code", "reason"],
                "properties": {
                    "name": {"type": "string"},
                    "code": {"type": "string"},
                    "reason": {"type": "string"},
                },
            },
        },
    },
}
ANSWERS = {
    "400": "The request is not valid; `invalidParams` names each field",
    "401": "No valid credentials",
    "404": "Not found",
    "415": "The body is not JSON",
    "503": "A service this request needs is unavailable; `Retry-After` says when to try again",
}
METHODS = ("get", "put", "post", "delete", "patch")
UNCHECKED = ("/health", "/metrics", "/openapi.json")


def _problem_answer(description: str) -> dict[str, Any]:
    schema = {"$ref": "#/components/schemas/Problem"}
    return {"description": description, "content": {PROBLEM_JSON: {"schema": schema}}}


def _answers_for(path: str, operation: dict[str, Any]) -> list[str]:
    codes = []
    if operation.get("parameters") or operation.get("requestBody"):
        codes.append("400")
    if operation.get("security"):
        codes.append("401")
    if "{" in path:
        codes.append("404")
    body = operation.get("requestBody", {}).get("content", {})
    if "application/json" in body:
        codes.append("415")
    if not path.startswith(UNCHECKED):
        codes.append("503")
    return codes


def _complete(path: str, operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    responses.pop("422", None)
    for code in _answers_for(path, operation):
        answer = responses.setdefault(code, _problem_answer(ANSWERS[code]))
        answer.setdefault("content", _problem_answer(ANSWERS[code])["content"])
    for code, answer in responses.items():
        if code.startswith("4") and "content" not in answer:
            answer["content"] = _problem_answer(answer.get("description", ""))["content"]


def _hoist_defs(node: Any, components: dict[str, Any]) -> Any:
    """Move nested ``$defs`` into ``components`` and point their ``$ref``s there."""
    if isinstance(node, dict):
        for name, definition in node.pop("$defs", {}).items():
            components.setdefault(name, _hoist_defs(definition, components))
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            node["$ref"] = "#/components/schemas/" + ref.removeprefix("#/$defs/")
        for key, value in node.items():
            node[key] = _hoist_defs(value, components)
    elif isinstance(node, list):
        return [_hoist_defs(item, components) for item in node]
    return node


def _metrics_as_text(document: dict[str, Any]) -> None:
    metrics = document.get("paths", {}).get("/metrics", {}).get("get")
    if metrics is not None:
        metrics["responses"]["200"] = {
            "description": "Prometheus metrics in the text exposition format",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }


def completed(document: dict[str, Any]) -> dict[str, Any]:
    components = document.setdefault("components", {}).setdefault("schemas", {})
    components.setdefault("Problem", PROBLEM_SCHEMA)
    for path, item in document.get("paths", {}).items():
        for method in METHODS:
            if method in item:
                _complete(path, item[method])
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    _hoist_defs(document.get("paths", {}), components)
    _metrics_as_text(document)
    return document


def document_problems(app: FastAPI) -> None:
    """Complete the app's OpenAPI document once, when it is first asked for."""
    derive: Callable[[], dict[str, Any]] = app.openapi
    document: dict[str, Any] = {}

    def openapi() -> dict[str, Any]:
        if not document:
            document.update(completed(derive()))
            app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]
