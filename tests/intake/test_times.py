"""Residents see the time they observed, whatever offset it was sent with (issue 13).

A report observed at 20:35 Amsterdam time (``+01:00``) was shown as 21:35 on the tracking page:
SQLite dropped the offset and the stored 20:35 was read back as UTC. Every API gives instants
with an offset; pages show them in Europe/Amsterdam.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.intake.conftest import IntakeUnderTest
from tests.intake.test_api import body, post

SUMMER_NOW = datetime(2026, 7, 1, 20, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("observed_at", "shown"),
    [
        ("2026-11-23T11:35:00+01:00", "11:35"),
        ("2026-11-23T10:35:00Z", "11:35"),
        ("2026-11-23T10:35:00+00:00", "11:35"),
    ],
)
async def test_the_tracking_page_and_api_show_the_observed_time(
    intake_service: IntakeUnderTest, observed_at: str, shown: str
) -> None:
    created = (await post(intake_service, body(observed_at=observed_at))).json()

    page = await intake_service.client.get(created["tracking_url"])
    assert f"23 nov 2026, {shown}" in page.text

    token = created["tracking_token"]
    answer = await intake_service.client.get(
        f"/api/v1/reports/{created['report_id']}", headers={"X-Tracking-Token": token}
    )
    assert answer.status_code == 200, answer.text
    report = answer.json()
    stated = datetime.fromisoformat(report["observed_at"])
    assert stated.tzinfo is not None, "an API instant carries its offset"
    assert stated == datetime.fromisoformat(observed_at)
    assert datetime.fromisoformat(report["received_at"]).tzinfo is not None


async def test_summer_time_is_shown_as_summer_time(intake_service: IntakeUnderTest) -> None:
    intake_service.clock.set(SUMMER_NOW)
    observed = SUMMER_NOW - timedelta(hours=1)  # 19:00 UTC = 21:00 CEST
    created = (await post(intake_service, body(observed_at=observed.isoformat()))).json()
    page = await intake_service.client.get(created["tracking_url"])
    assert "1 jul 2026, 21:00" in page.text
