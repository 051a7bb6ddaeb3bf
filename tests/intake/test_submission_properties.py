"""Property-based tests of the submission model (hypothesis): what it accepts is consistent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from schemas.report import Category
from services.intake.submission import SUBTYPES, WITH_INTENSITY, validate_submission

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)

valid_reports = st.fixed_dictionaries(
    {
        "category": st.sampled_from(list(Category)),
        "lat": st.floats(50.8, 53.5, allow_nan=False),
        "lon": st.floats(3.4, 7.2, allow_nan=False),
        "observed_at": st.timedeltas(timedelta(0), timedelta(days=29)).map(
            lambda d: (NOW - d).isoformat()
        ),
        "description": st.text(
            alphabet=st.characters(blacklist_categories=("Cc", "Cs")), max_size=4000
        ),
    }
)


@settings(max_examples=200, deadline=None)
@given(valid_reports, st.integers(1, 5))
def test_valid_reports_are_accepted_and_round_trip(data: dict[str, object], intensity: int) -> None:
    category = Category(str(data["category"]))
    if category in WITH_INTENSITY:
        data = {**data, "intensity": intensity}
    submission = validate_submission(data, NOW)
    assert submission.category == category
    assert submission.observed_at <= NOW
    assert submission.observed_at.tzinfo is not None
    again = validate_submission(submission.model_dump(mode="json", exclude_none=True), NOW)
    assert again == submission


@settings(max_examples=200, deadline=None)
@given(valid_reports, st.timedeltas(timedelta(minutes=6), timedelta(days=3650)))
def test_future_observations_are_always_refused(data: dict[str, object], ahead: timedelta) -> None:
    data = {**data, "observed_at": (NOW + ahead).isoformat()}
    with pytest.raises(ValidationError) as caught:
        validate_submission(data, NOW)
    assert [e["type"] for e in caught.value.errors()] == ["future_time"]


@settings(max_examples=200, deadline=None)
@given(
    valid_reports, st.text(min_size=1, max_size=20).filter(lambda s: s.strip() and s.isidentifier())
)
def test_unknown_fields_are_always_refused(data: dict[str, object], name: str) -> None:
    from services.intake.submission import ReportSubmission

    # a field the model knows is not unknown
    if name in ReportSubmission.model_fields:
        return
    with pytest.raises(ValidationError) as caught:
        validate_submission({**data, name: "x"}, NOW)
    assert any(e["type"] == "extra_forbidden" for e in caught.value.errors())


@settings(max_examples=100, deadline=None)
@given(valid_reports, st.text(max_size=30))
def test_subtype_is_accepted_only_from_its_category(data: dict[str, object], subtype: str) -> None:
    category = Category(str(data["category"]))
    try:
        submission = validate_submission({**data, "subtype": subtype}, NOW)
    except ValidationError:
        assert subtype.strip() not in SUBTYPES[category] or len(subtype) > 64
    else:
        assert submission.subtype is None or submission.subtype in SUBTYPES[category]
