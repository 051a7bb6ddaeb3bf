"""Problem titles come from the text catalogue (``problem.<kind>``), in English, the APIs'
language, with a Dutch text beside each; the problem+json shape is unchanged."""

from __future__ import annotations

import asyncio
import json

import pytest
from starlette.requests import Request

from services.intake.internal import InternalTokenError
from services.runtime import catalogue
from services.runtime.errors import RefusedError, TransientError, UnsupportedMediaTypeError
from services.runtime.problems import PROBLEM_BASE, problem, problem_title, transient_problem

KINDS = (
    "refused", "unavailable", "unsupported-media-type", "invalid-request", "unauthorised",
    "internal-token", "no-leg", "no-incident", "transition-refused", "answer-not-seen",
)  # fmt: skip


@pytest.mark.parametrize("language", catalogue.LANGUAGES)
def test_every_problem_title_is_in_the_catalogue(language: str) -> None:
    texts = catalogue.messages(language)
    for kind in KINDS:
        assert texts.get(f"problem.{kind}"), f"problem.{kind} has no {language} text"
    assert texts["problem.unauthorised"] != texts["problem.internal-token"]


def test_a_problem_has_its_kinds_title_and_the_same_shape() -> None:
    answer = problem(409, "transition-refused", detail="resolved → delivered")
    body = json.loads(bytes(answer.body))
    assert body == {
        "type": PROBLEM_BASE + "transition-refused",
        "title": "This status change is not allowed.",
        "status": 409,
        "detail": "resolved → delivered",
    }
    assert answer.media_type == "application/problem+json"
    assert problem_title("no-such-kind") == catalogue.text("problem.refused", "en")
    assert problem(404, "not-found", "Not Found").body == (
        b'{"type":"https://buursignaal.nl/problems/not-found","title":"Not Found","status":404}'
    ), "a title given (Starlette's detail) is kept"


def test_the_error_tree_answers_with_the_catalogues_titles() -> None:
    from services.runtime.problems import _refused

    request = Request({"type": "http", "method": "GET", "path": "/", "headers": []})

    def title_of(error: Exception) -> str:
        handler = transient_problem if isinstance(error, TransientError) else _refused
        return str(json.loads(bytes(asyncio.run(handler(request, error)).body))["title"])

    assert title_of(RefusedError("no")) == "The request was refused"
    assert title_of(UnsupportedMediaTypeError("text/plain")) == "Send the body as application/json"
    assert title_of(InternalTokenError()) == "A valid internal token is required."
    assert title_of(TransientError("down")).endswith("try again later")
