"""The inbox's leg page shows what the delivery carried, in Dutch words (no enum codes) and in
Amsterdam time; another authority signed in gets a 404 for it. Through the real broker, on
SQLite and PostgreSQL."""

from __future__ import annotations

import html
import re

import pytest
from faststream.kafka import KafkaBroker

from services.intake.submission import SUBTYPES
from services.notifier.authorities import register_authority
from services.runtime import catalogue
from tests.notifier.conftest import NotifierUnderTest
from tests.notifier.test_api_leg import DESCRIPTION, deliver_rich
from tests.support.signin import key_sign_in, sign_out

pytestmark = pytest.mark.kafka


async def sign_in(service: NotifierUnderTest, recipient_id: str) -> str:
    key = await register_authority(service.notifier.runtime.sessions, recipient_id, recipient_id)
    return await key_sign_in(service.client, key)


async def test_the_leg_page_shows_what_was_delivered(
    notifier_service: NotifierUnderTest, producer: KafkaBroker
) -> None:
    service = notifier_service
    leg_id = await deliver_rich(service, producer, "gm0453")
    await sign_in(service, "gm0453")

    page = await service.client.get(f"/inbox/legs/{leg_id}")
    assert page.status_code == 200, page.text
    text = html.unescape(page.text)
    assert "Wat er gemeld is" in text
    assert "Sterke zwavellucht sinds half elf.<br>Ramen dicht, kinderen binnen." in text
    assert "23-11-2026 10:35" in text, "observed at 10:35+01:00, shown in Amsterdam time"
    assert "23-11-2026 13:00" in text, "received at 12:00 UTC, shown as 13:00 in Amsterdam"
    assert "4 van 5" in text
    assert "<dt>Wat precies</dt><dd>zwavel</dd>" in text, "the subtype's word, not its code"
    assert "Hoofdpijn, Geïrriteerde ogen: prikkende neus" in text
    shown = " ".join(re.findall(r"<dd>(.*?)</dd>", text, re.DOTALL))
    for code in ("odour", "headache", "irritated_eyes", "sulphur", "web", "competent_authority"):
        assert not re.search(rf"\b{code}\b", shown), f"the code {code} is shown, not its word"
    assert "Velsen (GM0453)" in text
    assert "52.4806, 4.6064" in text
    assert "Tata Steel IJmuiden: 2,1 km, de melder zat benedenwinds" in text
    assert "uit 200°, 4,5 m/s" in text
    assert "gm0453 is bevoegd." in text
    assert "2, niet meegeleverd" in text
    assert "contactgegevens op verzoek worden gedeeld" in text
    assert "(website)" in text

    await sign_out(service.client)
    await sign_in(service, "gm0344")
    hidden = await service.client.get(f"/inbox/legs/{leg_id}")
    assert hidden.status_code == 404, "another authority's leg does not exist for it"
    assert DESCRIPTION.splitlines()[0] not in hidden.text


@pytest.mark.parametrize("language", catalogue.LANGUAGES)
def test_every_subtype_has_a_word(language: str) -> None:
    """Subtypes are codes (intake's ``SUBTYPES``); the leg page shows their words."""
    words = catalogue.messages(language, "Subtype")
    codes = {code for codes in SUBTYPES.values() for code in codes}
    assert sorted(codes - words.keys()) == []
    assert all(words[code] for code in codes)
