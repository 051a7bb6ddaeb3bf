"""Which status a leg may move to, and who may move it there.

The table is the whole rule: a change not in it is refused with a sentence that says what is
allowed. History is appended, never edited (``LegHistory``).
"""

from __future__ import annotations

from schemas.leg import ActorKind, LegStatus
from services.runtime.errors import RefusedError

S = LegStatus
OPEN_ANSWERS = frozenset({S.RESOLVED, S.NO_ACTION})

ALLOWED: dict[LegStatus, frozenset[LegStatus]] = {
    S.DELIVERED: frozenset(
        {S.ACKNOWLEDGED, S.IN_PROGRESS, S.WAITING_FOR_RESIDENT, S.NOT_OURS, S.FORWARDED}
    ),
    S.ACKNOWLEDGED: frozenset(
        {S.IN_PROGRESS, S.WAITING_FOR_RESIDENT, S.RESOLVED, S.NO_ACTION, S.NOT_OURS, S.FORWARDED}
    ),
    S.IN_PROGRESS: frozenset({S.WAITING_FOR_RESIDENT, S.RESOLVED, S.NO_ACTION, S.FORWARDED}),
    S.WAITING_FOR_RESIDENT: frozenset({S.IN_PROGRESS, S.RESOLVED, S.NO_ACTION}),
    S.RESOLVED: frozenset({S.REOPENED}),
    S.NO_ACTION: frozenset({S.REOPENED}),
    S.REOPENED: frozenset(
        {S.ACKNOWLEDGED, S.IN_PROGRESS, S.WAITING_FOR_RESIDENT, S.RESOLVED, S.NO_ACTION}
    ),
    S.NOT_OURS: frozenset(),  # the router routes again without this recipient
    S.FORWARDED: frozenset(),  # the receiving body gets its own leg
}

# Only the resident reopens (by answering "not solved"); everything else is the authority's.
MAY_SET: dict[ActorKind, frozenset[LegStatus]] = {
    ActorKind.AUTHORITY: frozenset(LegStatus) - {S.REOPENED, S.DELIVERED},
    ActorKind.RESIDENT: frozenset({S.REOPENED}),
    ActorKind.SYSTEM: frozenset({S.REOPENED}),
}
# An informed party has nothing to answer: it may say it read the report, or that it is not
# its matter; anything else it has to say is a note (``Legs.add_note``).
INFORMED_MAY_SET = frozenset({S.ACKNOWLEDGED, S.NOT_OURS})
CLOSED = frozenset({S.RESOLVED, S.NO_ACTION, S.NOT_OURS, S.FORWARDED})
ACKNOWLEDGING = frozenset(LegStatus) - {S.DELIVERED}
MIN_EXPLANATION = 20


class TransitionError(RefusedError, ValueError):
    """A status change the table does not allow; the message says why and what is allowed."""


def check(
    current: LegStatus,
    wanted: LegStatus,
    actor: ActorKind,
    *,
    explanation: str | None,
    forwarded_to: str | None,
    informed: bool = False,
) -> None:
    """Raise ``TransitionError`` unless ``actor`` may move a leg from ``current`` to ``wanted``
    (``informed``: the leg's recipient is only informed)."""
    if wanted not in MAY_SET[actor]:
        raise TransitionError(f"a {actor.value} cannot set a leg to {wanted.value}")
    if informed and actor is ActorKind.AUTHORITY and wanted not in INFORMED_MAY_SET:
        raise TransitionError(
            f"an informed party has nothing to answer and cannot set {wanted.value}; "
            "allowed: acknowledged, not_ours, or a note"
        )
    allowed = ALLOWED[current]
    if wanted not in allowed:
        options = ", ".join(sorted(s.value for s in allowed)) or "nothing (the leg is closed)"
        raise TransitionError(
            f"a leg that is {current.value} cannot become {wanted.value}; allowed: {options}"
        )
    if wanted in OPEN_ANSWERS and len((explanation or "").strip()) < MIN_EXPLANATION:
        raise TransitionError(
            f"{wanted.value} needs a plain-language explanation for the resident "
            f"(at least {MIN_EXPLANATION} characters)"
        )
    if wanted is S.NOT_OURS and not (explanation or "").strip():
        raise TransitionError("not_ours needs a reason")
    if wanted is S.FORWARDED and not forwarded_to:
        raise TransitionError("forwarded needs forwarded_to: the body that takes it over")
