"""Wind at a place and hour: where it comes FROM (meteorological convention) and how strong.

Providers: ``KnmiHourlyWind`` reads KNMI ``uurgeg`` hourly files (``DD`` degrees the wind comes
from, 0 calm, 990 variable; ``FH`` in 0.1 m/s; ``HH`` 1-24 = the hour ending at HH UT) and
answers from the nearest station with data for that hour; ``FixedWind`` answers the same
everywhere (tests, demos, or when no files are configured).
"""

from __future__ import annotations

import contextlib
import csv
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

from services.runtime.geo import flat_distance_m

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WindObservation:
    direction_deg: float | None  # None: calm or variable
    speed_ms: float
    station_id: str
    hour_ending: datetime


class WindProvider(Protocol):
    def wind_at(self, lat: float, lon: float, moment: datetime) -> WindObservation | None: ...


class FixedWind:
    def __init__(self, direction_deg: float | None, speed_ms: float = 4.0) -> None:
        self._direction = direction_deg
        self._speed = speed_ms

    def wind_at(self, lat: float, lon: float, moment: datetime) -> WindObservation | None:
        return WindObservation(self._direction, self._speed, "fixed", hour_ending(moment))


@dataclass(frozen=True)
class Station:
    station_id: str
    lat: float
    lon: float


def hour_ending(moment: datetime) -> datetime:
    """The KNMI hour (ending at HH UT) that contains ``moment``."""
    utc = moment.astimezone(UTC)
    start = utc.replace(minute=0, second=0, microsecond=0)
    return start + timedelta(hours=1)


def parse_uurgeg(text: str) -> dict[tuple[str, datetime], tuple[float | None, float]]:
    """(station, hour ending) -> (direction FROM in degrees or None, speed in m/s)."""
    observations: dict[tuple[str, datetime], tuple[float | None, float]] = {}
    columns: list[str] | None = None
    for line in text.splitlines():
        if line.startswith("# STN,"):
            columns = [c.strip() for c in line[2:].split(",")]
            continue
        if not line.strip() or line.startswith("#") or columns is None:
            continue
        values = dict(zip(columns, (v.strip() for v in line.split(",")), strict=False))
        if not values.get("DD") or not values.get("FH"):
            continue
        day = datetime.strptime(values["YYYYMMDD"], "%Y%m%d").replace(tzinfo=UTC)
        ending = day + timedelta(hours=int(values["HH"]))
        dd = int(values["DD"])
        direction = None if dd in (0, 990) else float(dd % 360)
        observations[(values["STN"], ending)] = (direction, int(values["FH"]) / 10)
    return observations


class KnmiHourlyWind:
    def __init__(
        self,
        stations: list[Station],
        observations: dict[tuple[str, datetime], tuple[float | None, float]],
    ) -> None:
        self._stations = stations
        self._observations = observations

    @classmethod
    def load(cls, weather_dir: Path) -> KnmiHourlyWind:
        with (weather_dir / "knmi_stations.csv").open(newline="") as handle:
            stations = [
                Station(row["stn"], float(row["lat"]), float(row["lon"]))
                for row in csv.DictReader(handle)
                if row["DD"] == "True" and row["FH"] == "True"
            ]
        observations: dict[tuple[str, datetime], tuple[float | None, float]] = {}
        for path in sorted(weather_dir.glob("knmi_uurgeg_*.txt")):
            observations.update(parse_uurgeg(path.read_text(errors="replace")))
        return cls(stations, observations)

    def wind_at(self, lat: float, lon: float, moment: datetime) -> WindObservation | None:
        ending = hour_ending(moment)
        by_distance = sorted(self._stations, key=lambda s: flat_distance_m(lat, lon, s.lat, s.lon))
        for station in by_distance:
            found = self._observations.get((station.station_id, ending))
            if found is not None:
                return WindObservation(found[0], found[1], station.station_id, ending)
        return None


class WatchedKnmiWind:
    """``KnmiHourlyWind`` from a directory, read again when its files change (a new hourly
    import, or the demo's series), looked at no more than every ``check_interval_s``. A
    directory without files yet answers "no wind" until they appear."""

    def __init__(
        self,
        weather_dir: Path,
        *,
        check_interval_s: float = 30.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._dir = weather_dir
        self._interval = check_interval_s
        self._monotonic = monotonic
        self._checked_at: float | None = None
        self._signature: tuple[tuple[str, int, int], ...] | None = None
        self._wind = KnmiHourlyWind([], {})

    def _files(self) -> tuple[tuple[str, int, int], ...]:
        paths = [self._dir / "knmi_stations.csv", *sorted(self._dir.glob("knmi_uurgeg_*.txt"))]
        found = []
        for path in paths:
            with contextlib.suppress(FileNotFoundError):
                stat = path.stat()
                found.append((path.name, stat.st_mtime_ns, stat.st_size))
        return tuple(found)

    def _refresh(self) -> None:
        now = self._monotonic()
        if self._checked_at is not None and now - self._checked_at < self._interval:
            return
        self._checked_at = now
        signature = self._files()
        if signature == self._signature:
            return
        if not (self._dir / "knmi_stations.csv").exists():
            self._wind, self._signature = KnmiHourlyWind([], {}), signature
            return
        try:
            self._wind = KnmiHourlyWind.load(self._dir)
        except (OSError, ValueError, KeyError):  # half written, say: try again next time
            log.exception("KNMI wind in %s cannot be read; keeping the previous files", self._dir)
            return
        self._signature = signature
        log.info("KNMI wind read from %s (%d files)", self._dir, len(signature))

    def wind_at(self, lat: float, lon: float, moment: datetime) -> WindObservation | None:
        self._refresh()
        return self._wind.wind_at(lat, lon, moment)


DIRECTION_STEP_DEG = 10.0  # KNMI reports DD in tens of degrees: ±10° at best
LIGHT_WIND_MS = 2.0  # below this an hourly mean direction wanders
LIGHT_WIND_EXTRA_DEG = 20.0


def direction_uncertainty_deg(observation: WindObservation) -> float:
    """How far the wind's true direction over the hour may lie from the observed one."""
    extra = LIGHT_WIND_EXTRA_DEG if observation.speed_ms < LIGHT_WIND_MS else 0.0
    return DIRECTION_STEP_DEG + extra


def off_downwind_deg(wind_from_deg: float, bearing_from_source_deg: float) -> float:
    """The angle between where the wind blows to and the bearing from source to reporter."""
    blowing_towards = (wind_from_deg + 180) % 360
    return abs((bearing_from_source_deg - blowing_towards + 180) % 360 - 180)


def downwind(
    wind_from_deg: float, bearing_from_source_deg: float, tolerance_deg: float = 30.0
) -> bool:
    """True when the reporter lies downwind: the wind blows from the source towards them.

    Wind FROM 180° (southerly) blows towards 0° (north): a reporter due north of the source
    (bearing 0°) is downwind.
    """
    return off_downwind_deg(wind_from_deg, bearing_from_source_deg) <= tolerance_deg
