"""A second body that answers a shared case without having read the first answer (issue 16
§3) gets its own documented problem type, ``answer-not-seen``, saying what to do: read the
case and send again with ``seen_answers_of``. Through the real broker, SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from faststream.kafka import KafkaBroker

from services.notifier.authorities import register_authority
from services.notifier.problem_types import AnswerNotSeenProblem
from services.runtime.problems import PROBLEM_JSON
from tests.notifier.conftest import NotifierUnderTest
from tests.notifier.test_notifier_service import deliver

pytestmark = pytest.mark.kafka
OD_ANSWER = "Wij hebben de fakkel bij het bedrijf gecontroleerd; de oorzaak is weggenomen."
PV_ANSWER = "De provincie legt het bedrijf een last onder dwangsom op om herhaling te voorkomen."
NOT_SEEN = "https://buursignaal.nl/problems/answer-not-seen"


async def test_an_answer_without_reading_the_first_is_its_own_documented_problem(
    notifier_service: NotifierUnderTest, producer: KafkaBroker
) -> None:
    service = notifier_service
    province, od = await deliver(service, producer, None, "pv27", "od-odnzkg")
    sessions = service.notifier.runtime.sessions
    as_pv = {"Authorization": f"Bearer {await register_authority(sessions, 'pv27', 'NH')}"}
    as_od = {"Authorization": f"Bearer {await register_authority(sessions, 'od-odnzkg', 'OD')}"}
    api = service.client
    for leg_id, headers in ((od, as_od), (province, as_pv)):
        read = await api.post(
            f"/api/v1/legs/{leg_id}/status", json={"status": "acknowledged"}, headers=headers
        )
        assert read.status_code == 200, read.text
    first = await api.post(
        f"/api/v1/legs/{od}/status",
        json={"status": "resolved", "explanation": OD_ANSWER, "seen_answers_of": []},
        headers=as_od,
    )
    assert first.status_code == 200, first.text

    blind = await api.post(
        f"/api/v1/legs/{province}/status",
        json={"status": "resolved", "explanation": PV_ANSWER, "seen_answers_of": []},
        headers=as_pv,
    )
    assert blind.status_code == 409
    assert blind.headers["content-type"] == PROBLEM_JSON
    problem = blind.json()
    assert problem["type"] == NOT_SEEN
    assert "seen_answers_of" in problem["title"]
    [unseen] = problem["unseen_answers"]
    assert (unseen["recipient_id"], unseen["status"], unseen["explanation"]) == (
        "od-odnzkg", "resolved", OD_ANSWER,
    )  # fmt: skip
    assert problem["resend_with"] == {"seen_answers_of": ["od-odnzkg"]}
    assert "reporter_key" not in blind.text

    # the documented answer: the OpenAPI document describes this body
    document = (await api.get("/openapi.json")).json()
    conflict = document["paths"]["/api/v1/legs/{leg_id}/status"]["post"]["responses"]["409"]
    assert "answer-not-seen" in conflict["description"]
    assert "transition-refused" in conflict["description"]
    schema = conflict["content"][PROBLEM_JSON]["schema"]
    assert {"$ref": "#/components/schemas/Problem"} in schema["anyOf"]
    [documented] = [s for s in schema["anyOf"] if "properties" in s]
    assert documented["properties"]["type"]["const"] == NOT_SEEN
    assert set(documented["required"]) >= {"type", "case_url", "unseen_answers", "resend_with"}
    for ref in ("UnseenAnswerOut", "ResendWith"):
        assert ref in document["components"]["schemas"], "every $ref resolves"
    assert AnswerNotSeenProblem.model_validate(problem).unseen_answers[0].name

    # what the client must do: read the case, then send again as told
    case = (await api.get(problem["case_url"], headers=as_pv)).json()["case"]
    assert case["others"][0]["answers"][-1]["explanation"] == OD_ANSWER
    again = await api.post(
        f"/api/v1/legs/{province}/status",
        json={"status": "resolved", "explanation": PV_ANSWER, **problem["resend_with"]},
        headers=as_pv,
    )
    assert again.status_code == 200, again.text

    # a change the status table forbids keeps the general type
    refused = await api.post(
        f"/api/v1/legs/{province}/status", json={"status": "delivered"}, headers=as_pv
    )
    assert refused.status_code == 409
    assert refused.json()["type"] == "https://buursignaal.nl/problems/transition-refused"
    assert set(refused.json()) <= set(document["components"]["schemas"]["Problem"]["properties"])
