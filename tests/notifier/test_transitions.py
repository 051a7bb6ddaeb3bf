"""The status table: every allowed change passes, every other one is refused with a reason.

The expected moves are written out here from the domain (docs/notifier.md), not derived from
``services.notifier.transitions``, so a change to the code's table fails until this one agrees.
"""

from __future__ import annotations

import itertools

import pytest

from schemas.leg import ActorKind, LegStatus
from services.notifier.transitions import ALLOWED, TransitionError, check

EXPLANATION = "We hebben de installatie gecontroleerd en de klep vervangen."

AUTHORITY, RESIDENT, SYSTEM = ActorKind.AUTHORITY, ActorKind.RESIDENT, ActorKind.SYSTEM

# (from status, who sets it, to status): every move a leg may make. Anything else is refused.
EXPECTED: frozenset[tuple[str, ActorKind, str]] = frozenset(
    {
        # a delivered leg is taken up, parked, turned down or passed on; not closed unread
        ("delivered", AUTHORITY, "acknowledged"),
        ("delivered", AUTHORITY, "in_progress"),
        ("delivered", AUTHORITY, "waiting_for_resident"),
        ("delivered", AUTHORITY, "not_ours"),
        ("delivered", AUTHORITY, "forwarded"),
        # an acknowledged leg may go anywhere forward
        ("acknowledged", AUTHORITY, "in_progress"),
        ("acknowledged", AUTHORITY, "waiting_for_resident"),
        ("acknowledged", AUTHORITY, "resolved"),
        ("acknowledged", AUTHORITY, "no_action"),
        ("acknowledged", AUTHORITY, "not_ours"),
        ("acknowledged", AUTHORITY, "forwarded"),
        # work under way is no longer "not ours", but may still be passed on
        ("in_progress", AUTHORITY, "waiting_for_resident"),
        ("in_progress", AUTHORITY, "resolved"),
        ("in_progress", AUTHORITY, "no_action"),
        ("in_progress", AUTHORITY, "forwarded"),
        # waiting for the resident ends in work again or an answer
        ("waiting_for_resident", AUTHORITY, "in_progress"),
        ("waiting_for_resident", AUTHORITY, "resolved"),
        ("waiting_for_resident", AUTHORITY, "no_action"),
        # only the resident (or the system on the resident's behalf) reopens an answered leg
        ("resolved", RESIDENT, "reopened"),
        ("resolved", SYSTEM, "reopened"),
        ("no_action", RESIDENT, "reopened"),
        ("no_action", SYSTEM, "reopened"),
        # a reopened leg is the authority's again
        ("reopened", AUTHORITY, "acknowledged"),
        ("reopened", AUTHORITY, "in_progress"),
        ("reopened", AUTHORITY, "waiting_for_resident"),
        ("reopened", AUTHORITY, "resolved"),
        ("reopened", AUTHORITY, "no_action"),
        # not_ours and forwarded are final: the router routes again, or the new body gets a leg
    }
)
EVERY_MOVE = list(itertools.product(LegStatus, ActorKind, LegStatus))


def attempt(current: LegStatus, wanted: LegStatus, actor: ActorKind) -> None:
    check(current, wanted, actor, explanation=EXPLANATION, forwarded_to="od-odnzkg")


def is_expected(current: LegStatus, actor: ActorKind, wanted: LegStatus) -> bool:
    return (current.value, actor, wanted.value) in EXPECTED


def test_the_code_table_has_exactly_the_expected_moves() -> None:
    code_moves = {(c.value, w.value) for c, targets in ALLOWED.items() for w in targets}
    assert code_moves == {(current, wanted) for current, _, wanted in EXPECTED}


@pytest.mark.parametrize(("current", "actor", "wanted"), EVERY_MOVE)
def test_every_move_passes_or_is_refused_as_written(
    current: LegStatus, actor: ActorKind, wanted: LegStatus
) -> None:
    if is_expected(current, actor, wanted):
        attempt(current, wanted, actor)
        return
    with pytest.raises(TransitionError) as refused:
        attempt(current, wanted, actor)
    assert wanted.value in str(refused.value), "the refusal names the status that was asked"


def test_closing_needs_an_explanation_for_the_resident() -> None:
    for wanted in (LegStatus.RESOLVED, LegStatus.NO_ACTION):
        with pytest.raises(TransitionError, match="explanation"):
            check(LegStatus.ACKNOWLEDGED, wanted, AUTHORITY, explanation="ok", forwarded_to=None)
    with pytest.raises(TransitionError, match="reason"):
        check(
            LegStatus.DELIVERED, LegStatus.NOT_OURS, AUTHORITY, explanation=None, forwarded_to=None
        )
    with pytest.raises(TransitionError, match="forwarded_to"):
        check(
            LegStatus.DELIVERED, LegStatus.FORWARDED, AUTHORITY, explanation=None, forwarded_to=None
        )


def test_only_the_resident_reopens_and_closed_legs_stay_closed() -> None:
    with pytest.raises(TransitionError, match="authority cannot set"):
        attempt(LegStatus.RESOLVED, LegStatus.REOPENED, AUTHORITY)
    with pytest.raises(TransitionError, match="closed"):
        attempt(LegStatus.NOT_OURS, LegStatus.ACKNOWLEDGED, AUTHORITY)
