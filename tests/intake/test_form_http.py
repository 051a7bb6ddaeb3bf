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
