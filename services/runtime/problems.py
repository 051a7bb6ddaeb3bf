"""RFC 9457 problem details (``application/problem+json``) for every service's HTTP API."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi.responses import JSONResponse

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
