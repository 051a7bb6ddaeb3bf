"""RFC 9457 problem details (``application/problem+json``) for every service's HTTP API."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from services.runtime.errors import RefusedError, TransientError

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://buursignaal.nl/problems/"


class FieldProblem(dict[str, str]):
    """``{"name": field, "code": error type, "reason": message}`` (NL API design rules)."""


def problem(
    status: int,
    kind: str,
    title: str,
    *,
    detail: str | None = None,
    invalid: Sequence[FieldProblem] = (),
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"type": PROBLEM_BASE + kind, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if invalid:
        body["invalidParams"] = list(invalid)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


async def _refused(_request: Request, error: Exception) -> Response:
    status = getattr(error, "status", RefusedError.status)
    kind = getattr(error, "kind", RefusedError.kind)
    title = getattr(error, "title", RefusedError.title)
    return problem(status, kind, title, detail=str(error) or None)


async def _transient(_request: Request, error: Exception) -> Response:
    retry_after = getattr(error, "retry_after_s", TransientError.retry_after_s)
    return problem(
        TransientError.status,
        TransientError.kind,
        TransientError.title,
        detail=str(error) or None,
        headers={"Retry-After": str(retry_after)},
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Map the error tree to problem+json: refused -> its 4xx status, transient -> 503.

    A service registers its own handler for a more specific error (Starlette picks the
    nearest class in the error's MRO), for example Open311's own error format.
    """
    app.add_exception_handler(RefusedError, _refused)
    app.add_exception_handler(TransientError, _transient)
