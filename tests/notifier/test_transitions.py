"""The status table: every allowed change passes, every other one is refused with a reason."""

from __future__ import annotations

import itertools

import pytest

from schemas.leg import ActorKind, LegStatus
from services.notifier.transitions import ALLOWED, MAY_SET, TransitionError, check

EXPLANATION = "We hebben de installatie gecontroleerd en de klep vervangen."


def attempt(current: LegStatus, wanted: LegStatus, actor: ActorKind) -> None:
    check(current, wanted, actor, explanation=EXPLANATION, forwarded_to="od-odnzkg")


@pytest.mark.parametrize(
    ("current", "wanted"), list(itertools.product(LegStatus, LegStatus))
)  # fmt: skip
def test_every_pair_follows_the_table(current: LegStatus, wanted: LegStatus) -> None:
    actor = ActorKind.RESIDENT if wanted is LegStatus.REOPENED else ActorKind.AUTHORITY
    if wanted in ALLOWED[current] and wanted in MAY_SET[actor]:
        attempt(current, wanted, actor)
    else:
        with pytest.raises(TransitionError) as refused:
            attempt(current, wanted, actor)
        assert wanted.value in str(refused.value)


def test_closing_needs_an_explanation_for_the_resident() -> None:
    for wanted in (LegStatus.RESOLVED, LegStatus.NO_ACTION):
        with pytest.raises(TransitionError, match="explanation"):
            check(LegStatus.ACKNOWLEDGED, wanted, ActorKind.AUTHORITY, explanation="ok",
                  forwarded_to=None)  # fmt: skip
    with pytest.raises(TransitionError, match="reason"):
        check(LegStatus.DELIVERED, LegStatus.NOT_OURS, ActorKind.AUTHORITY, explanation=None,
              forwarded_to=None)  # fmt: skip
    with pytest.raises(TransitionError, match="forwarded_to"):
        check(LegStatus.DELIVERED, LegStatus.FORWARDED, ActorKind.AUTHORITY, explanation=None,
              forwarded_to=None)  # fmt: skip


def test_only_the_resident_reopens_and_closed_legs_stay_closed() -> None:
    with pytest.raises(TransitionError, match="authority cannot set"):
        attempt(LegStatus.RESOLVED, LegStatus.REOPENED, ActorKind.AUTHORITY)
    with pytest.raises(TransitionError, match="closed"):
        attempt(LegStatus.NOT_OURS, LegStatus.ACKNOWLEDGED, ActorKind.AUTHORITY)
