"""What an outside client meets at the notifier's HTTP edge (issue 13): every error is
problem+json with field messages, a 405 says what is allowed, a body that is not JSON is a 415,
a misspelt filter is refused instead of ignored, and instants carry an offset."""

from __future__ import annotations

from services.notifier.authorities import register_authority
from services.runtime.problems import PROBLEM_JSON
from tests.notifier.conftest import NotifierUnderTest


async def _key(service: NotifierUnderTest) -> dict[str, str]:
    key = await register_authority(service.notifier.runtime.sessions, "od-nzkg", "OD NZKG")
    return {"Authorization": f"Bearer {key}"}


async def test_a_body_that_does_not_validate_is_a_problem_with_field_messages(
    notifier_service: NotifierUnderTest,
) -> None:
    headers = await _key(notifier_service)
    answer = await notifier_service.client.post(
        "/api/v1/legs/unknown/status", json={"status": "maybe"}, headers=headers
    )
    assert answer.status_code == 400
    assert answer.headers["content-type"] == PROBLEM_JSON
    assert [p["name"] for p in answer.json()["invalidParams"]] == ["status"]


async def test_a_json_body_sent_as_text_is_a_415(notifier_service: NotifierUnderTest) -> None:
    headers = {**await _key(notifier_service), "Content-Type": "text/plain"}
    answer = await notifier_service.client.post(
        "/api/v1/legs/unknown/status", content=b'{"status": "acknowledged"}', headers=headers
    )
    assert answer.status_code == 415
    assert answer.headers["content-type"] == PROBLEM_JSON


async def test_a_wrong_method_is_a_405_that_says_what_is_allowed(
    notifier_service: NotifierUnderTest,
) -> None:
    answer = await notifier_service.client.delete("/api/v1/legs")
    assert answer.status_code == 405
    assert answer.headers["allow"] == "GET"
    assert answer.headers["content-type"] == PROBLEM_JSON


async def test_a_misspelt_or_repeated_filter_is_refused(
    notifier_service: NotifierUnderTest,
) -> None:
    headers = await _key(notifier_service)
    misspelt = await notifier_service.client.get("/api/v1/legs?statsu=resolved", headers=headers)
    assert misspelt.status_code == 400
    assert misspelt.json()["invalidParams"][0]["name"] == "statsu"
    twice = await notifier_service.client.get(
        "/api/v1/legs?category=odour&category=noise", headers=headers
    )
    assert twice.status_code == 400
    assert twice.json()["invalidParams"][0]["code"] == "repeated_parameter"
    fine = await notifier_service.client.get("/api/v1/legs?category=odour", headers=headers)
    assert fine.status_code == 200, fine.text


async def test_the_document_names_the_api_key_and_the_problem_answers(
    notifier_service: NotifierUnderTest,
) -> None:
    document = (await notifier_service.client.get("/openapi.json")).json()
    change = document["paths"]["/api/v1/legs/{leg_id}/status"]["post"]
    assert {"400", "401", "404", "409", "415"} <= set(change["responses"])
    assert "422" not in change["responses"]
    assert change["security"] == [{"authorityKey": []}]
    assert "Problem" in document["components"]["schemas"]


async def test_every_answer_carries_the_security_headers(
    notifier_service: NotifierUnderTest,
) -> None:
    for path in ("/inbox/login", "/api/v1/legs", "/static/notifier.css"):
        answer = await notifier_service.client.get(path)
        assert "default-src 'self'" in answer.headers["content-security-policy"], path
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "no-referrer"
        assert answer.headers["x-frame-options"] == "DENY"
