"""The form without a browser: every problem is reported at once, and typed text is escaped."""

from __future__ import annotations

import re

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


def input_tag(page: str, field_id: str) -> str:
    """The ``<input>`` element with id ``field_id``."""
    match = re.search(rf'<input [^>]*id="{field_id}"[^>]*>', page)
    assert match, field_id
    return match.group(0)


async def test_cleared_date_and_time_come_back_empty(intake_service: IntakeUnderTest) -> None:
    new_form = (await intake_service.client.get("/")).text
    assert 'value=""' not in input_tag(new_form, "field-observed_date"), "a new form proposes now"
    response = await intake_service.client.post(
        "/",
        data={"category": "noise", "lat": "52.09", "lon": "5.12", "observed_date": "",
              "observed_time": ""},
    )  # fmt: skip
    assert response.status_code == 400
    assert "#field-observed_date" in response.text.split('id="error-summary"')[1].split("</div>")[0]
    for field_id in ("field-observed_date", "field-observed_time"):
        tag = input_tag(response.text, field_id)
        assert 'value=""' in tag, tag
        assert 'aria-invalid="true"' in tag, tag
    typed = await intake_service.client.post(
        "/", data={"lat": "52.09", "lon": "5.12", "observed_date": "1-2", "observed_time": "7"}
    )
    assert 'value="1-2"' in input_tag(typed.text, "field-observed_date")
    assert 'value="7"' in input_tag(typed.text, "field-observed_time")


async def test_error_summary_follows_the_order_of_the_form(
    intake_service: IntakeUnderTest,
) -> None:
    response = await intake_service.client.post(
        "/",
        data={"observed_date": "", "observed_time": "", "intensity": "9", "email": "geen-adres",
              "phone": "x", "duration_minutes": "-5"},
    )  # fmt: skip
    assert response.status_code == 400
    _, summary = response.text.split('id="error-summary"', 1)
    summary, form = summary.split("</div>", 1)
    anchors = re.findall(r'href="#([^"]+)"', summary)
    assert len(anchors) >= 6, anchors
    positions = [form.index(f'id="{anchor}"') for anchor in anchors]
    assert positions == sorted(positions), anchors


async def test_location_fields_are_marked_invalid_when_the_place_is(
    intake_service: IntakeUnderTest,
) -> None:
    response = await intake_service.client.post(
        "/", data={"category": "noise", "observed_date": "23-11-2026", "observed_time": "12:30"}
    )
    assert response.status_code == 400
    assert 'id="error-location"' in response.text
    for field_id in ("field-postcode", "field-house_number", "field-address"):
        tag = input_tag(response.text, field_id)
        assert 'aria-invalid="true"' in tag, tag
        assert "error-location" in tag, tag
    fine = await intake_service.client.post(
        "/", data={"lat": "52.09", "lon": "5.12", "observed_date": "23-11-2026",
                   "observed_time": "12:30"},
    )  # fmt: skip
    assert 'aria-invalid="true"' not in input_tag(fine.text, "field-postcode")
