"""The notifier's own 409 problem types (RFC 9457, ``application/problem+json``).

- ``https://buursignaal.nl/problems/transition-refused``: the status table does not allow the
  change (the detail says why and what is allowed). Trying again cannot help.
- ``https://buursignaal.nl/problems/answer-not-seen``: another body answered this case (one
  shared case, issue 16 §3) and the request's ``seen_answers_of`` does not name it. The body
  lists those answers in ``unseen_answers``; the client must read the case
  (``case_url``: ``GET /api/v1/legs/{leg_id}``, ``case.others[].answers``), show the answer to
  whoever answers, and send the same request again with ``seen_answers_of`` naming every
  body in ``unseen_answers`` (``resend_with``).

Both are documented in the OpenAPI document (``STATUS_CONFLICT``, on
``POST /api/v1/legs/{leg_id}/status``).
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from schemas.routing import RECIPIENT_ID_PATTERN
from services.notifier.desk import OtherAnswerFirstError
from services.runtime.problems import PROBLEM_BASE, PROBLEM_JSON, problem_title

TRANSITION_REFUSED = "transition-refused"
ANSWER_NOT_SEEN = "answer-not-seen"


class UnseenAnswerOut(BaseModel):
    recipient_id: str = Field(pattern=RECIPIENT_ID_PATTERN)
    name: str
    status: str = Field(description="resolved or no_action")
    explanation: str | None = Field(description="the other body's answer, as the resident reads it")


class ResendWith(BaseModel):
    seen_answers_of: list[str] = Field(
        description="add these recipient ids to seen_answers_of and send the request again"
    )


class AnswerNotSeenProblem(BaseModel):
    """409: the caller must read another body's answer before it answers the case."""

    type: Literal["https://buursignaal.nl/problems/answer-not-seen"]
    title: str
    status: Literal[409]
    detail: str
    case_url: str = Field(description="where the case and its answers are read")
    unseen_answers: list[UnseenAnswerOut] = Field(min_length=1)
    resend_with: ResendWith


STATUS_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {
        "description": "Refused. `type` says why: `…/problems/transition-refused` (the status "
        "table does not allow this change; do not retry) or `…/problems/answer-not-seen` "
        "(another body answered this case and `seen_answers_of` does not name it: read "
        "`case_url`, show its answer, and send the request again with `seen_answers_of` "
        "as in `resend_with`)",
        "content": {
            PROBLEM_JSON: {
                "schema": {
                    "anyOf": [
                        {"$ref": "#/components/schemas/Problem"},
                        AnswerNotSeenProblem.model_json_schema(),
                    ]
                }
            }
        },
    }
}


async def answer_not_seen(_request: Request, error: Exception) -> Response:
    """``OtherAnswerFirstError`` as the ``answer-not-seen`` problem."""
    assert isinstance(error, OtherAnswerFirstError)
    body = AnswerNotSeenProblem(
        type=PROBLEM_BASE + ANSWER_NOT_SEEN,
        title=problem_title(ANSWER_NOT_SEEN),
        status=409,
        detail=str(error),
        case_url=f"/api/v1/legs/{error.leg_id}",
        unseen_answers=[
            UnseenAnswerOut(
                recipient_id=u.recipient_id,
                name=u.name,
                status=u.status,
                explanation=u.explanation,
            )
            for u in error.unseen
        ],
        resend_with=ResendWith(seen_answers_of=sorted({u.recipient_id for u in error.unseen})),
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=409, media_type=PROBLEM_JSON)
