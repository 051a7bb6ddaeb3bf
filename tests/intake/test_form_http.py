"""The form without a browser: every problem is reported at once, and typed text is escaped."""

from __future__ import annotations

import pytest

from tests.intake.conftest import IntakeUnderTest

pytestmark = pytest.mark.kafka


async def test_empty_form_names_every_missing_part(intake_service: IntakeUnderTest) -> None:
    response = await intake_service.client.post(
        "/", data={"observed_date": "", "observed_time": "", "description": "<script>x</script>"}
    )
    assert response.status_code == 400
    summary = response.text.split('id="error-summary"')[1].split("</div>")[0]
    for anchor in ("#category-odour", "#field-postcode", "#field-observed_date"):
        assert anchor in summary
    assert "<script>x</script>" not in response.text
    assert "&lt;script&gt;x&lt;/script&gt;" in response.text


async def test_english_form_and_confirmation(intake_service: IntakeUnderTest) -> None:
    form = await intake_service.client.get("/?lang=en")
    assert 'lang="en"' in form.text
    assert "Report a nuisance from industry" in form.text
    response = await intake_service.client.post(
        "/?lang=en",
        data={
            "language": "en",
            "category": "noise",
            "lat": "52.09",
            "lon": "5.12",
            "observed_date": "23-11-2026",
            "observed_time": "12:30",
        },
    )
    assert response.status_code == 303
    confirmation = await intake_service.client.get(response.headers["location"])
    assert "Your report has been received" in confirmation.text


async def test_text_that_is_not_utf8_is_refused_not_published(
    intake_service: IntakeUnderTest,
) -> None:
    body = (
        b"category=noise&lat=52.09&lon=5.12&observed_date=23-11-2026&observed_time=11%3A30"
        b"&description=Lawaai+%FF%FE+bij+de+fabriek"
    )
    response = await intake_service.client.post(
        "/", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 400
    summary = response.text.split('id="error-summary"')[1].split("</div>")[0]
    assert "#field-description" in summary
    assert "niet goed zijn doorgekomen" in summary


async def test_json_nested_too_deep_is_a_400_problem(intake_service: IntakeUnderTest) -> None:
    deep = b"[" * 5000 + b"]" * 5000
    answer = await intake_service.client.post(
        "/api/v1/reports", content=deep, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/problem+json"


async def test_an_app_report_sent_as_text_is_a_415(intake_service: IntakeUnderTest) -> None:
    answer = await intake_service.client.post(
        "/api/v1/reports", content=b'{"category": "odour"}', headers={"Content-Type": "text/plain"}
    )
    assert answer.status_code == 415
    no_type = await intake_service.client.post("/api/v1/reports", content=b'{"category": "odour"}')
    assert no_type.status_code == 415


async def test_an_unknown_tracking_link_says_so(intake_service: IntakeUnderTest) -> None:
    page = await intake_service.client.get("/track/not-a-token")
    assert page.status_code == 404
    assert "Deze link kennen we niet" in page.text
    assert "Naar de inhoud" in page.text, "the skip link leads to the content, not a form"
    english = await intake_service.client.get("/track/not-a-token?lang=en")
    assert "We do not know this link" in english.text
