"""Contact details are erased after the retention period; the report itself stays."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from services.intake.models import ReporterContact
from services.intake.tracking import report_by_id
from tests.intake.conftest import IntakeUnderTest
from tests.intake.test_api import body, post

pytestmark = pytest.mark.kafka


async def test_contacts_erased_after_retention(intake_service: IntakeUnderTest) -> None:
    old = (
        await post(intake_service, body(name="Oud", email="oud@example.nl", phone="0612345678"))
    ).json()
    intake_service.clock.advance(timedelta(days=200))
    recent = (
        await post(
            intake_service,
            body(
                name="Nieuw",
                email="nieuw@example.nl",
                observed_at=intake_service.clock.now().isoformat(),
            ),
        )
    ).json()
    intake_service.clock.advance(timedelta(days=166))  # old is now 366 days, recent 166

    assert await intake_service.intake.erase_expired_contacts() == 1
    assert await intake_service.intake.erase_expired_contacts() == 0, (
        "erasing twice changes nothing"
    )
    async with intake_service.intake.sessions() as session:
        contacts = {c.report_id: c for c in (await session.exec(select(ReporterContact))).all()}
        old_report = await report_by_id(session, old["report_id"])
    erased = contacts[old["report_id"]]
    assert (erased.name, erased.email, erased.phone, erased.ip_address) == (None, None, None, None)
    assert erased.erased_at is not None
    assert contacts[recent["report_id"]].email == "nieuw@example.nl"
    assert old_report is not None
    assert old_report.description == "Zwavellucht sinds de ochtend.", "the report stays intact"
