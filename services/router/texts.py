"""Small pieces of the router's Dutch and English reasons."""

from __future__ import annotations

from schemas._base import LocalizedText


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
