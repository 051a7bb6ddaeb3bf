"""KNMI hourly wind from a directory that changes while the router runs (the demo's series)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from services.router.wind import WatchedKnmiWind, parse_uurgeg
from tests.router.test_reference import SHARED
from tools.demo import WindHour, write_knmi_hours

START = datetime(2026, 11, 16, 0, 0, tzinfo=UTC)
DORDRECHT = (51.8133, 4.6667)


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_written_hours_read_back_as_knmi_hours(tmp_path: Path) -> None:
    series = [WindHour(0, 230, 4.2), WindHour(1, 0, 0.8), WindHour(23, 95, 6.0)]
    written = write_knmi_hours(series, START, SHARED, tmp_path)
    observations = parse_uurgeg(written.read_text())
    at_344 = {
        ending: value for (station, ending), value in observations.items() if station == "344"
    }
    assert at_344 == {
        START + timedelta(hours=1): (230.0, 4.2),
        START + timedelta(hours=2): (0.0, 0.8),  # north is written 360, not 0 (calm)
        START + timedelta(hours=24): (95.0, 6.0),  # hour 24 of the first day
    }


def test_the_router_reads_the_files_again_when_they_change(tmp_path: Path) -> None:
    ticks = Ticks()
    wind = WatchedKnmiWind(tmp_path, check_interval_s=30, monotonic=ticks)
    moment = START + timedelta(minutes=30)
    assert wind.wind_at(*DORDRECHT, moment) is None, "no files yet: no wind"
    write_knmi_hours([WindHour(0, 230, 4.0)], START, SHARED, tmp_path)
    ticks.now = 31
    first = wind.wind_at(*DORDRECHT, moment)
    assert first is not None
    assert first.direction_deg == 230.0
    assert first.station_id == "344", "the nearest station to Dordrecht (Rotterdam)"
    write_knmi_hours([WindHour(0, 40, 3.0)], START, SHARED, tmp_path)
    ticks.now = 40
    unchanged = wind.wind_at(*DORDRECHT, moment)
    assert unchanged is not None
    assert unchanged.direction_deg == 230.0, "not looked at yet"
    ticks.now = 62
    again = wind.wind_at(*DORDRECHT, moment)
    assert again is not None
    assert again.direction_deg == 40.0
