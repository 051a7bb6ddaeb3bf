"""The national table's digest: patterns, where answers stall, counts, blind spots.

Privacy: no personal data (no reporter keys, no addresses, no report texts); counts from 1 to 4
are shown as "<5" (``null`` with ``"suppressed": true`` in JSON); places are 500 m grid points.
Charts are PNGs (matplotlib) embedded in the page.
"""

from __future__ import annotations

import base64
import csv
import io
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from schemas.process import BodyFigures
from schemas.report import Category
from services.notifier import figures
from services.notifier.models import Leg, PatternRecord, Signal
from services.notifier.patterns.service import coarse
from services.notifier.transitions import CLOSED
from services.notifier.worktime import WorkingCalendar
from services.runtime import catalogue

SMALL = 5


def shown(count: int) -> int | None:
    """A count fit to publish: 1 to 4 become None (shown as "<5")."""
    return None if 0 < count < SMALL else count


def _count(count: int) -> dict[str, Any]:
    value = shown(count)
    return {"count": value, "suppressed": value is None}


def _png(figure: Any) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


@dataclass(frozen=True)
class Facility:
    facility_id: str
    name: str
    sector: str


def read_facilities(reference_dir: Path) -> list[Facility]:
    path = reference_dir / "registry" / "facilities_nl.csv"
    if not path.exists():
        return []
    with path.open(newline="", encoding="utf-8") as handle:
        return [
            Facility(row["facility_id"], row["name"], row["sector"])
            for row in csv.DictReader(handle)
            if row.get("status", "active").strip().lower().startswith("active")
        ]


def read_place_names(reference_dir: Path) -> dict[str, str]:
    """Municipality and province names by their CBS codes (GM0375 Beverwijk, PV27
    Noord-Holland), from the reference registry, for the digest to show names, not codes."""
    path = reference_dir / "registry" / "gemeenten_2025.csv"
    if not path.exists():
        return {}
    names: dict[str, str] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            names[row["gemeente_code"]] = row["gemeente_naam"]
            names[row["provincie_code"]] = row["provincie_naam"]
    return names


def place_names(document: dict[str, Any], names: Mapping[str, str]) -> dict[str, str]:
    """The names of the places the document mentions (codes without a name are left out)."""
    codes = {code for p in document["patterns"] for code in p["municipality_codes"]}
    codes |= {code for p in document["patterns"] for code in p["province_codes"]}
    codes |= set(document["counts"]["by_province"])
    return {code: names[code] for code in sorted(c for c in codes if c in names)}


@dataclass(frozen=True)
class PeriodRows:
    """What a digest reads: a year of signals up to the period's end and the patterns of the
    period (and the month before). How the bodies answered comes from ``figures``."""

    signals: list[Signal]
    patterns: list[PatternRecord]


async def _period_rows(session: AsyncSession, start: datetime, end: datetime) -> PeriodRows:
    year = select(Signal).where(
        col(Signal.observed_at) >= start - timedelta(days=365), col(Signal.observed_at) <= end
    )
    recent_patterns = (
        select(PatternRecord)
        .where(col(PatternRecord.detected_at) >= start - timedelta(days=30))
        .order_by(col(PatternRecord.detected_at).desc())
    )
    return PeriodRows(
        signals=list((await session.exec(year)).all()),
        patterns=list((await session.exec(recent_patterns)).all()),
    )


async def compose(
    session: AsyncSession,
    *,
    calendar: WorkingCalendar,
    start: datetime,
    end: datetime,
    now: datetime,
    facilities: list[Facility],
) -> tuple[dict[str, Any], dict[str, str]]:
    """The digest document (JSON-ready) and its charts (data URIs by name)."""
    rows = await _period_rows(session, start, end)
    in_period = [s for s in rows.signals if s.observed_at >= start]
    by_report = {s.report_id: s for s in rows.signals}
    charts: dict[str, str] = {}
    pattern_items = []
    for record in rows.patterns[:20]:
        pattern_items.append(_pattern_item(record, start))
        members = [by_report[r] for r in record.report_ids if r in by_report]
        if members:
            charts.update(_pattern_charts(record, members))
    weekly = Counter(
        (s.observed_at.date().isocalendar()[:2], s.category)
        for s in rows.signals
        if s.observed_at >= end - timedelta(weeks=12)
    )
    if weekly:
        charts["weekly"] = _weekly(weekly)
    document = {
        "period": {"start": start.isoformat(), "end": end.isoformat()},
        "published_at": now.isoformat(),
        "reports": _count(len(in_period)),
        "patterns": pattern_items,
        "stalls": await _stalls(session, calendar, start, end, now),
        "counts": _counts(in_period),
        "blind_spots": _blind_spots(facilities, rows.signals),
        "caveat": {language: _text("caveat", language) for language in catalogue.LANGUAGES},
    }
    document["summary"] = _summary(document)
    return document, charts


def _pattern_item(record: PatternRecord, start: datetime) -> dict[str, Any]:
    centre = None
    if record.centre_lat is not None:
        centre = {"lat": record.centre_lat, "lon": record.centre_lon, "grid_m": 500}
    return {
        "pattern_id": record.pattern_id,
        "method": record.method,
        "category": record.category,
        "scope": record.scope,
        "status": "new" if record.first_detected_at >= start else "ongoing",
        "recurrence_interval_days": record.recurrence_interval_days,
        "unique_reporters": _count(record.unique_reporters),
        "facility_ids": record.facility_ids,
        "municipality_codes": record.municipality_codes,
        "province_codes": record.province_codes,
        "centre": centre,
        "detected_at": record.detected_at.isoformat(),
    }


def _pattern_charts(record: PatternRecord, members: list[Signal]) -> dict[str, str]:
    charts = {
        f"map-{record.pattern_id}": _map(members),
        f"series-{record.pattern_id}": _series(members),
    }
    winds = [m.wind_from_deg for m in members if m.wind_from_deg is not None]
    if record.category in ("odour", "air") and winds:
        charts[f"wind-{record.pattern_id}"] = _wind_rose(winds)
    return charts


def _counts(in_period: list[Signal]) -> dict[str, dict[str, Any]]:
    sectors = Counter(sector for s in in_period for sector in set(s.sectors) if sector)
    return {
        "by_category": {k: _count(v) for k, v in Counter(s.category for s in in_period).items()},
        "by_province": {
            k: _count(v) for k, v in Counter(s.province_code or "?" for s in in_period).items()
        },
        "by_sector": {k: _count(v) for k, v in sectors.items()},
    }


def _blind_spots(facilities: list[Facility], signals: list[Signal]) -> list[dict[str, str]]:
    """Facilities nobody reported about in the year."""
    reported = {f for s in signals for f in s.facility_ids}
    return [
        {"facility_id": f.facility_id, "name": f.name, "sector": f.sector}
        for f in facilities
        if f.facility_id not in reported
    ]


async def _stalls(
    session: AsyncSession,
    calendar: WorkingCalendar,
    start: datetime,
    end: datetime,
    now: datetime,
) -> list[dict[str, Any]]:
    """Where things stall, per body, for the period: the figures ``process.figures`` carries
    (answering legs only: an informed party or an advisor owes no answer and is never judged),
    fit to publish. No single report or leg: counts 1-4 are "<5", medians and the on-time
    share need five legs."""
    rows = []
    for body, legs in await figures.compose_with_legs(session, calendar, start, end):
        waiting = sum(_awaiting_acknowledgement(leg, now) for leg in legs)
        rows.append(_stall_row(body, judged=body.legs - waiting))
    return rows


def _stall_row(body: BodyFigures, *, judged: int) -> dict[str, Any]:
    """One body's row; ``judged``: its legs acknowledged or past their first deadline."""
    return {
        "recipient_id": body.recipient_id,
        "name": body.name,
        "legs": _count(body.legs),
        "answered": _count(body.answered),
        "answered_on_time": _count(body.answered_on_time),
        "answered_on_time_share": round(body.answered_on_time / judged, 2)
        if judged >= SMALL else None,
        "median_hours_to_acknowledge": body.median_hours_to_acknowledge
        if body.acknowledged >= SMALL else None,
        "median_hours_to_resolve": body.median_hours_to_resolve
        if body.answered >= SMALL else None,
        "open_overdue": _count(body.open_overdue),
        "rungs": {
            "reminders": _count(body.reminders),
            "commissioning_authority": _count(body.commissioning_authority),
            "administrative_lead": _count(body.administrative_lead),
        },
    }  # fmt: skip


def _awaiting_acknowledgement(leg: Leg, now: datetime) -> bool:
    """Not acknowledged yet, and its first rung (the deadline to acknowledge) not due."""
    return (
        leg.acknowledged_at is None
        and leg.status not in CLOSED
        and leg.next_step == 1
        and (leg.next_due_at is None or leg.next_due_at > now)
    )


def _summary(document: dict[str, Any]) -> dict[str, str]:
    """Three sentences in each language, from ``digest.summary.*`` in the text catalogue."""
    patterns = document["patterns"]
    national = [p for p in patterns if p["scope"] == "national"]
    stalls = [a for a in document["stalls"] if a["open_overdue"]["count"] != 0]
    good = [a for a in document["stalls"] if (a["answered_on_time_share"] or 0) >= 0.9]
    counts = {
        "patterns": len(patterns),
        "national": len(national),
        "good": len(good),
        "stalls": len(stalls),
    }
    sentences = [
        "patterns_national" if national else "patterns",
        "good" if good else "none_good",
        "stalls" if stalls else "no_stalls",
    ]
    return {
        language: " ".join(_text(f"summary.{key}", language) % counts for key in sentences)
        for language in catalogue.LANGUAGES
    }


def _text(key: str, language: str) -> str:
    return catalogue.text(f"digest.{key}", language)


def _map(members: list[Signal]) -> str:
    points = [coarse(m.lat, m.lon) for m in members]
    figure, axes = plt.subplots(figsize=(3.2, 3.2))
    axes.scatter([p.lon for p in points], [p.lat for p in points], s=30, alpha=0.6)
    axes.set(xlabel="lon (500 m grid)", ylabel="lat", aspect=1 / np.cos(np.radians(52.2)))
    return _png(figure)


def _series(members: list[Signal]) -> str:
    days = Counter(m.observed_at.date() for m in members)
    ordered = sorted(days)
    figure, axes = plt.subplots(figsize=(4, 2.2))
    axes.bar([d.isoformat() for d in ordered], [days[d] for d in ordered])
    axes.set_ylabel("reports / day")
    figure.autofmt_xdate()
    return _png(figure)


def _wind_rose(winds: list[float]) -> str:
    bins = np.radians(np.arange(0, 361, 30))
    counts, _ = np.histogram(np.radians(winds), bins=bins)
    figure = plt.figure(figsize=(2.8, 2.8))
    axes: Any = figure.add_subplot(projection="polar")  # a PolarAxes
    axes.set_theta_zero_location("N")
    axes.set_theta_direction(-1)
    axes.bar(bins[:-1], counts, width=np.radians(30), align="edge", alpha=0.7)
    axes.set_yticklabels([])
    axes.set_title("wind from", fontsize=9)
    return _png(figure)


def _weekly(weekly: Counter[tuple[tuple[int, int], Category]]) -> str:
    weeks = sorted({week for week, _ in weekly})
    categories = sorted({category for _, category in weekly})
    figure, axes = plt.subplots(figsize=(5, 2.5))
    bottom = np.zeros(len(weeks))
    for category in categories:
        values = np.array([weekly[(week, category)] for week in weeks], dtype=float)
        axes.bar([f"{y}-W{w:02d}" for y, w in weeks], values, bottom=bottom, label=category)
        bottom += values
    axes.legend(fontsize=7)
    axes.tick_params(axis="x", labelrotation=60, labelsize=7)
    return _png(figure)


def new_digest_id() -> str:
    return str(uuid.uuid4())


async def publish(
    session: AsyncSession,
    *,
    calendar: WorkingCalendar,
    facilities: list[Facility],
    now: datetime,
    period: timedelta,
    public_base_url: str,
    render: Any,
    clock: Any,
    names: Mapping[str, str] | None = None,
) -> str:
    """Compose, archive and announce one digest (``digest.published``); returns its id."""
    from schemas._base import LocalizedText
    from schemas.pattern import DigestPublished
    from schemas.report import Category
    from schemas.topics import DIGEST_PUBLISHED
    from services.notifier.models import DigestRecord
    from services.runtime.outbox import enqueue

    start = now - period
    document, charts = await compose(
        session, calendar=calendar, start=start, end=now, now=now, facilities=facilities
    )
    digest_id = new_digest_id()
    document["digest_id"] = digest_id
    document["place_names"] = place_names(document, names or {})
    html = render(document, charts)
    session.add(
        DigestRecord(
            digest_id=digest_id, period_start=start, period_end=now, published_at=now,
            document=document, html=html,
        )
    )  # fmt: skip
    by_category = {
        Category(k): v["count"]
        for k, v in document["counts"]["by_category"].items()
        if v["count"] is not None
    }
    event = DigestPublished(
        digest_id=uuid.UUID(digest_id),
        period_start=start,
        period_end=now,
        published_at=now,
        url=f"{public_base_url.rstrip('/')}/digests/{digest_id}",
        pattern_ids=[uuid.UUID(p["pattern_id"]) for p in document["patterns"]],
        reports_by_category=by_category,
        summary=LocalizedText(**document["summary"]),
    )
    enqueue(
        session, event, topic=DIGEST_PUBLISHED.name, key=digest_id, source="/buursignaal/notifier",
        clock=clock,
    )  # fmt: skip
    return digest_id
