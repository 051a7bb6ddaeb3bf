"""RFC 9457 problem details (``application/problem+json``) for every service's HTTP API.

One place maps what can go wrong over HTTP, for every service alike:

- the error tree (``services.runtime.errors``): refused -> its 4xx, transient -> 503;
- a request that does not validate -> 400 with a message per field (``invalidParams``);
- Starlette's own answers (404 no such path, 405 with its ``Allow`` header, ...) -> the same
  problem shape, its headers kept; a person's browser asking for a page gets a short page.

A service registers its own handler for a more specific error (Starlette picks the nearest
class in the error's MRO), for example Open311's own error format or intake's Dutch messages.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Sequence
from typing import Any, get_origin

from fastapi import FastAPI, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.routing import APIRoute
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.runtime import catalogue
from services.runtime.errors import RefusedError, TransientError, UnsupportedMediaTypeError

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://buursignaal.nl/problems/"
JSON_TYPES = ("application/json",)
API_PREFIXES = ("/api/", "/internal/", "/open311/")

log = logging.getLogger(__name__)


class FieldProblem(dict[str, str]):
    """``{"name": field, "code": error type, "reason": message}`` (NL API design rules)."""


API_LANGUAGE = "en"  # the language of the HTTP APIs' problem titles


def problem_title(kind: str) -> str:
    """A problem type's title from the catalogue (``problem.<kind>``, docs/texts.md), in the
    APIs' language; a kind without one of its own has the general "refused" title."""
    key = f"problem.{kind}"
    found = catalogue.text(key, API_LANGUAGE)
    return found if found != key else catalogue.text("problem.refused", API_LANGUAGE)


def problem(
    status: int,
    kind: str,
    title: str | None = None,
    *,
    detail: str | None = None,
    invalid: Sequence[FieldProblem] = (),
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """A problem+json answer; ``title``: the catalogue's title of ``kind`` unless given (a
    Starlette error's own detail)."""
    title = problem_title(kind) if title is None else title
    body: dict[str, Any] = {"type": PROBLEM_BASE + kind, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if invalid:
        body["invalidParams"] = list(invalid)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def field_name(location: Sequence[int | str]) -> str:
    """A pydantic error location as the field a client sent (``body.intensity``: ``intensity``)."""
    parts = [str(p) for p in location if p not in ("query", "path", "header", "body", "cookie")]
    return ".".join(parts) or "body"


async def _refused(_request: Request, error: Exception) -> Response:
    status = getattr(error, "status", RefusedError.status)
    kind = getattr(error, "kind", RefusedError.kind)
    title = problem_title(getattr(error, "title_key", kind))
    return problem(status, kind, title, detail=str(error) or None)


async def transient_problem(_request: Request, error: Exception) -> Response:
    retry_after = getattr(error, "retry_after_s", TransientError.retry_after_s)
    return problem(
        TransientError.status,
        TransientError.kind,
        detail=str(error) or None,
        headers={"Retry-After": str(retry_after)},
    )


async def _database_unavailable(request: Request, error: Exception) -> Response:
    """The database cannot be reached (down, restarting): transient, like a TransientError; the
    driver's message (host, port, server state) stays in the log."""
    log.warning("database unavailable: %s", error)
    return await transient_problem(request, TransientError("the database is unavailable"))


async def _invalid(_request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    invalid = [
        FieldProblem(name=field_name(item["loc"]), code=item["type"], reason=item["msg"])
        for item in error.errors()
    ]
    return problem(400, "invalid-request", invalid=invalid)


def wants_page(request: Request) -> bool:
    """A person's browser on a page (not an API path), which should get a page back."""
    accepts = request.headers.get("accept", "")
    return not request.url.path.startswith(API_PREFIXES) and "text/html" in accepts


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    headers = dict(error.headers or {})
    if wants_page(request):
        title = html.escape(str(error.detail))
        page = (
            f'<!doctype html><html lang="en"><meta charset="utf-8"><title>{title}</title>'
            f"<main><h1>{error.status_code}: {title}</h1></main></html>"
        )
        return HTMLResponse(page, status_code=error.status_code, headers=headers)
    kind = "not-found" if error.status_code == 404 else "http-error"
    return problem(error.status_code, kind, str(error.detail), headers=headers)


async def json_body(request: Request) -> None:
    """A dependency for operations that take a JSON body: any other content type is a 415.

    Without it FastAPI reads a ``text/plain`` body as if it were JSON or reports a
    validation error; a client sending the wrong content type deserves to be told so.
    """
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in JSON_TYPES and not media_type.endswith("+json"):
        raise UnsupportedMediaTypeError(f"the body was sent as {media_type or 'no content type'!r}")


_DECLARED = "_buursignaal_query_parameters"


def _query_names(dependant: Dependant) -> dict[str, bool]:
    """Each query parameter an operation declares, and whether it takes several values."""
    names = {
        parameter.alias: get_origin(parameter.field_info.annotation) in (list, set, tuple)
        for parameter in dependant.query_params
    }
    for dependency in dependant.dependencies:
        names |= _query_names(dependency)
    return names


async def known_query_parameters(request: Request) -> None:
    """A dependency for API routers: a query parameter the operation does not declare is a 400.

    A misspelt filter (``?statsu=resolved``) would otherwise be ignored silently and answer
    with everything.
    """
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    declared: dict[str, bool] | None = getattr(route, _DECLARED, None)
    if declared is None:  # read once per route, kept on the route (an id could be reused)
        declared = _query_names(route.dependant)
        setattr(route, _DECLARED, declared)
    given = request.query_params
    unknown = sorted(set(given) - set(declared))
    repeated = sorted(n for n, many in declared.items() if not many and len(given.getlist(n)) > 1)
    if unknown or repeated:
        raise UnknownParameterError(unknown, repeated)


class UnknownParameterError(RefusedError):
    """Query parameters the operation does not take, or a single-valued one given twice."""

    status = 400
    kind = "invalid-request"

    def __init__(self, unknown: Sequence[str], repeated: Sequence[str]) -> None:
        super().__init__(f"unknown: {', '.join(unknown)}; repeated: {', '.join(repeated)}")
        self.unknown, self.repeated = list(unknown), list(repeated)


async def _unknown_parameter(_request: Request, error: Exception) -> Response:
    assert isinstance(error, UnknownParameterError)
    invalid = [
        FieldProblem(name=name, code="unknown_parameter", reason="This parameter is not known")
        for name in error.unknown
    ] + [
        FieldProblem(name=name, code="repeated_parameter", reason="Give this parameter once")
        for name in error.repeated
    ]
    return problem(400, error.kind, invalid=invalid)


def install_problem_handlers(app: FastAPI) -> None:
    """Map the error tree, validation errors and Starlette's HTTP errors to problem+json."""
    app.add_exception_handler(RefusedError, _refused)
    app.add_exception_handler(TransientError, transient_problem)
    app.add_exception_handler(OperationalError, _database_unavailable)
    app.add_exception_handler(UnknownParameterError, _unknown_parameter)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(StarletteHTTPException, _http_error)
