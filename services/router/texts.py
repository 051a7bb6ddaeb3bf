"""The router's own Dutch and English sentences, from the text catalogue (``router.reason.*``
in ``services/locale``; docs/texts.md), and small pieces of its reasons. The rule table's
reasons stay in ``rules.yaml`` (data, both languages side by side)."""

from __future__ import annotations

from functools import cache

from schemas._base import LocalizedText
from services.runtime import catalogue


def kilometres(distance_m: float) -> tuple[str, str]:
    """A distance for a reason: ("1,2 km", "1.2 km"); under a kilometre in metres."""
    if distance_m < 1000:
        metres = f"{round(distance_m / 10) * 10:.0f} m"
        return metres, metres
    english = f"{distance_m / 1000:.1f} km"
    return english.replace(".", ","), english


def notes_text(notes: list[LocalizedText]) -> LocalizedText | None:
    """Several notes as one reason, in order."""
    if not notes:
        return None
    return LocalizedText(
        nl=" ".join(n.nl for n in notes),
        en=" ".join(n.en for n in notes),
    )


@cache
def _sentence(key: str, language: str) -> str:
    return catalogue.text(key, language)


def pair(key: str, **values: str | tuple[str, str]) -> tuple[str, str]:
    """The catalogue's text ``key`` as (Dutch, English), with ``values`` filled in (a value
    that is a pair is (Dutch, English), as ``kilometres`` gives). Plain strings: the reasons'
    fragments are built for every recipient of every report."""

    def filled(language: str, index: int) -> str:
        text = _sentence(key, language)
        if not values:
            return text
        return text % {k: v if isinstance(v, str) else v[index] for k, v in values.items()}

    return filled("nl", 0), filled("en", 1)


def said(key: str, **values: str | tuple[str, str]) -> LocalizedText:
    """The catalogue's sentence ``key`` in Dutch and English (``pair``), as a text."""
    dutch, english = pair(key, **values)
    return LocalizedText(nl=dutch, en=english)
