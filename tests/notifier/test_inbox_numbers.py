"""Numbers on the meldkamer's pages: a decimal comma in Dutch, a point in English, and never a
negative zero ("-0,0 uur later" once showed for two reports a moment apart)."""

from __future__ import annotations

import pytest

from services.notifier.web import _decimal


@pytest.mark.parametrize(
    ("value", "nl", "en"),
    [(-0.0, "0,0", "0.0"), (-0.01, "0,0", "0.0"), (-0.06, "-0,1", "-0.1"), (2.04, "2,0", "2.0")],
)
def test_decimals_in_each_language_and_no_negative_zero(value: float, nl: str, en: str) -> None:
    assert _decimal({"lang": "nl"}, value) == nl  # type: ignore[arg-type]
    assert _decimal({"lang": "en"}, value) == en  # type: ignore[arg-type]
    assert _decimal({"lang": "nl"}, None) == ""  # type: ignore[arg-type]
