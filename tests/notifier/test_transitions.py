"""The status table: every allowed change passes, every other one is refused with a reason.

The expected table is written out here from the process (docs/notifier.md), not read from the
code: a change to ``services/notifier/transitions.py`` that adds or drops a move fails here.
"""

from __future__ import annotations

import itertools

import pytest

from schemas.leg import ActorKind, LegStatus
from services.notifier.transitions import TransitionError, check

EXPLANATION = "We hebben de installatie gecontroleerd en de klep vervangen."

# What an authority may do with its leg, from each status (the resident only reopens).
AUTHORITY_MAY = """
delivered             -> acknowledged in_progress waiting_for_resident not_ours forwarded
acknowledged          -> in_progress waiting_for_resident resolved no_action not_ours forwarded
in_progress           -> waiting_for_resident resolved no_action forwarded
waiting_for_resident  -> in_progress resolved no_action
reopened              -> acknowledged in_progress waiting_for_resident resolved no_action
resolved              ->
no_action             ->
not_ours              ->
forwarded             ->
"""
RESIDENT_REOPENS = {LegStatus.RESOLVED, LegStatus.NO_ACTION}


def expected_moves() -> set[tuple[LegStatus, LegStatus, ActorKind]]:
    moves = set()
    for line in AUTHORITY_MAY.strip().splitlines():
        current, targets = line.split("->")
        for target in targets.split():
            moves.add((LegStatus(current.strip()), LegStatus(target), ActorKind.AUTHORITY))
    for current in RESIDENT_REOPENS:
        moves.add((current, LegStatus.REOPENED, ActorKind.RESIDENT))
        moves.add((current, LegStatus.REOPENED, ActorKind.SYSTEM))
    return moves


EXPECTED = expected_moves()
EVERY_MOVE = list(itertools.product(LegStatus, LegStatus, ActorKind))


def attempt(current: LegStatus, wanted: LegStatus, actor: ActorKind) -> None:
    check(current, wanted, actor, explanation=EXPLANATION, forwarded_to="od-odnzkg")


def test_the_written_table_names_every_status() -> None:
    assert {line.split()[0] for line in AUTHORITY_MAY.strip().splitlines()} == set(LegStatus)


@pytest.mark.parametrize(("current", "wanted", "actor"), EVERY_MOVE)
def test_every_move_follows_the_written_table(
    current: LegStatus, wanted: LegStatus, actor: ActorKind
) -> None:
    if (current, wanted, actor) in EXPECTED:
        attempt(current, wanted, actor)
    else:
        with pytest.raises(TransitionError) as refused:
            attempt(current, wanted, actor)
        assert wanted.value in str(refused.value)


def refused(current: LegStatus, wanted: LegStatus, explanation: str | None = None) -> str:
    with pytest.raises(TransitionError) as error:
        check(current, wanted, ActorKind.AUTHORITY, explanation=explanation, forwarded_to=None)
    return str(error.value)


def test_closing_needs_an_explanation_for_the_resident() -> None:
    for wanted in (LegStatus.RESOLVED, LegStatus.NO_ACTION):
        assert "explanation" in refused(LegStatus.ACKNOWLEDGED, wanted, explanation="ok")
    assert "reason" in refused(LegStatus.DELIVERED, LegStatus.NOT_OURS)
    assert "forwarded_to" in refused(LegStatus.DELIVERED, LegStatus.FORWARDED)


def test_only_the_resident_reopens_and_closed_legs_stay_closed() -> None:
    with pytest.raises(TransitionError, match="authority cannot set"):
        attempt(LegStatus.RESOLVED, LegStatus.REOPENED, ActorKind.AUTHORITY)
    with pytest.raises(TransitionError, match="closed"):
        attempt(LegStatus.NOT_OURS, LegStatus.ACKNOWLEDGED, ActorKind.AUTHORITY)
