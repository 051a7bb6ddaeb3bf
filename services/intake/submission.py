"""What a resident submits, validated once for every channel (form, app API, Open311).

Validation needs "now" (an observation may be up to 30 days old, never in the future); it is
passed as validation context so the clock stays injected: ``validate_submission(data, now)``.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any, Literal, Self
from uuid import UUID
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from schemas.report import Category, HealthSymptom

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
MAX_AGE = timedelta(days=30)
CLOCK_SKEW = timedelta(minutes=5)
POSTCODE = re.compile(r"^[1-9][0-9]{3}\s?[A-Za-z]{2}$")

SUBTYPES: dict[Category, tuple[str, ...]] = {
    Category.ODOUR: ("chemical", "burnt", "sweet", "rotten", "sulphur", "solvent", "other"),
    Category.NOISE: ("humming", "bangs", "alarm", "night_work", "other"),
    Category.VIBRATION: ("shaking", "rattling", "tremor", "other"),
    Category.SOIL: ("contamination", "deposits", "excavation", "other"),
    Category.WATER: ("discharge", "foam", "oil_film", "dead_fish", "colour", "other"),
    Category.AIR: ("dust", "soot", "smoke", "flaring", "deposits", "other"),
}
WITH_INTENSITY = frozenset({Category.ODOUR, Category.NOISE, Category.VIBRATION, Category.AIR})


def _error(kind: str, message: str, **context: Any) -> PydanticCustomError:
    return PydanticCustomError(kind, message, context or None)


class ReportSubmission(BaseModel):
    """One report as a resident (or their app) sends it; unknown fields are refused."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    category: Category
    subtype: str | None = Field(default=None, max_length=64)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    rd_x: float | None = Field(default=None, ge=-7000, le=300000)
    rd_y: float | None = Field(default=None, ge=289000, le=629000)
    address: str | None = Field(default=None, max_length=200)
    postcode: str | None = Field(default=None, max_length=7)
    house_number: str | None = Field(default=None, max_length=10)
    observed_at: datetime
    duration_minutes: int | None = Field(default=None, ge=0, le=60 * 24 * 30)
    still_noticeable: bool | None = None
    intensity: int | None = Field(default=None, ge=1, le=5)
    description: str = Field(default="", max_length=4000)
    health_symptoms: list[HealthSymptom] = Field(default_factory=list, max_length=10)
    symptoms_other: str | None = Field(default=None, max_length=500)
    suspected_source: str | None = Field(default=None, max_length=200)
    suspected_facility_id: str | None = Field(default=None, max_length=64)
    name: str | None = Field(default=None, max_length=200)
    email: EmailStr | None = None
    phone: str | None = Field(default=None, max_length=20, pattern=r"^\+?[0-9 ()-]{6,20}$")
    share_contact: bool = False
    email_updates: bool = False
    language: Literal["nl", "en"] = "nl"
    device_id: str | None = Field(default=None, min_length=8, max_length=128)
    linked_report_id: UUID | None = None

    @model_validator(mode="before")
    @classmethod
    def _blank_means_absent(cls, data: Any) -> Any:
        """Forms send empty strings for fields left blank; treat those as not given."""
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if not (isinstance(v, str) and v.strip() == "")}
        return data

    @field_validator("observed_at")
    @classmethod
    def _observed_in_window(cls, value: datetime, info: ValidationInfo) -> datetime:
        if value.tzinfo is None:  # a form's datetime-local: Dutch local time
            value = value.replace(tzinfo=AMSTERDAM)
        now = (info.context or {}).get("now")
        if isinstance(now, datetime):
            if value > now + CLOCK_SKEW:
                raise _error("future_time", "the observation time lies in the future")
            if value < now - MAX_AGE:
                raise _error("too_old", "the observation is more than 30 days old")
        return value

    @field_validator("description", "symptoms_other", "suspected_source", "name")
    @classmethod
    def _plain_text(cls, value: str | None) -> str | None:
        if value is not None and any(ord(ch) < 32 and ch not in "\n\r\t" for ch in value):
            raise _error("control_characters", "the text contains control characters")
        return value

    @field_validator("postcode")
    @classmethod
    def _dutch_postcode(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not POSTCODE.match(value):
            raise _error("postcode", "not a Dutch postcode (like 1234 AB)")
        return value.replace(" ", "").upper()

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.subtype and self.subtype not in SUBTYPES[self.category]:
            raise _error(
                "subtype",
                "unknown kind for this category",
                allowed=", ".join(SUBTYPES[self.category]),
            )
        if self.intensity is not None and self.category not in WITH_INTENSITY:
            raise _error(
                "intensity_not_applicable", "intensity applies to odour, noise, vibration and air"
            )
        has_wgs84 = self.lat is not None or self.lon is not None
        has_rd = self.rd_x is not None or self.rd_y is not None
        has_address = bool(self.address or self.postcode or self.house_number)
        if has_wgs84 and (self.lat is None or self.lon is None):
            raise _error("incomplete_point", "give both latitude and longitude")
        if has_rd and (self.rd_x is None or self.rd_y is None):
            raise _error("incomplete_point", "give both RD x and RD y")
        if self.postcode and not self.house_number:
            raise _error("house_number_missing", "give the house number with the postcode")
        if sum((has_wgs84, has_rd, has_address)) == 0:
            raise _error("location_missing", "say where you noticed it")
        if sum((has_wgs84, has_rd)) > 1:
            raise _error("location_ambiguous", "give one kind of coordinates")
        if self.email_updates and not self.email:
            raise _error("email_missing", "e-mail updates need an e-mail address")
        return self

    @property
    def address_query(self) -> str | None:
        if self.postcode and self.house_number:
            return f"{self.postcode} {self.house_number}"
        return self.address


# Errors raised by the model-level validator belong to a field a person can fix.
MODEL_ERROR_FIELDS = {
    "subtype": "subtype",
    "intensity_not_applicable": "intensity",
    "incomplete_point": "location",
    "house_number_missing": "house_number",
    "location_missing": "location",
    "location_ambiguous": "location",
    "email_missing": "email",
}


def validate_submission(data: dict[str, Any], now: datetime) -> ReportSubmission:
    return ReportSubmission.model_validate(data, context={"now": now})
