"""What an ID token's claims make of a person: the organisation, the highest known role, the
pseudonymous subject; a token without organisation or role opens nothing."""

from __future__ import annotations

import pytest

from services.notifier.signin import NotAllowedError, Role, person_from_claims

CLAIMS = {
    "sub": "5f0c7d9e-1111-4222-8333-944445555666",
    "name": "Anna de Vries",
    "organisation": "recipient:od-odnzkg",
    "organisation_name": "Omgevingsdienst Noordzeekanaalgebied",
    "roles": ["default-roles-buursignaal", "viewer", "handler"],
}


def test_claims_name_the_organisation_and_the_highest_role() -> None:
    person = person_from_claims(CLAIMS)
    assert (person.recipient_id, person.role, person.may_change) == (
        "od-odnzkg",
        Role.HANDLER,
        True,
    )
    actor = person.actor()
    assert (actor.actor_id, actor.subject, actor.name) == (
        "od-odnzkg",
        CLAIMS["sub"],
        "Anna de Vries",
    )
    viewer = person_from_claims({**CLAIMS, "roles": ["viewer"]})
    assert not viewer.may_change


def test_an_organisation_that_is_no_recipient_matches_no_leg() -> None:
    table = person_from_claims({**CLAIMS, "organisation": "table:national"})
    assert ":" in table.recipient_id, "no recipient id has a colon (RECIPIENT_ID_PATTERN)"


@pytest.mark.parametrize("missing", ["organisation", "roles", "sub"])
def test_a_token_without_organisation_role_or_subject_opens_nothing(missing: str) -> None:
    with pytest.raises(NotAllowedError):
        person_from_claims({k: v for k, v in CLAIMS.items() if k != missing})
    with pytest.raises(NotAllowedError):
        person_from_claims({**CLAIMS, "roles": ["default-roles-buursignaal"]})
