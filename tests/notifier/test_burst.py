"""The burst rule: unique reporters in a rolling hour, announced on crossing and on growth."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.notifier.patterns.burst import Burst, BurstDetector

START = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)


def report(detector: BurstDetector, n: int, reporter: str, minutes: float) -> list[object]:
    return detector.observe(  # type: ignore[return-value]
        report_id=f"r{n}",
        reporter_key=reporter,
        category="odour",
        at=START + timedelta(minutes=minutes),
        x_m=10_500.0,
        y_m=20_500.0,
        facility_ids=["tata_steel_ijmuiden"],
        recipients=["pv27", "od-odnzkg"],
    )


def test_ten_unique_reporters_in_an_hour_announce_once_then_on_growth() -> None:
    detector = BurstDetector(threshold=10)
    announced = []
    for n in range(9):
        announced += report(detector, n, f"reporter-{n}", minutes=n * 5)
    assert announced == []
    announced += report(detector, 100, "reporter-0", minutes=46)  # the same person again
    assert announced == [], "one reporter counts once"
    first = report(detector, 9, "reporter-9", minutes=50)
    assert {b.key[0] for b in first} == {"cell", "facility"}  # type: ignore[attr-defined]
    assert all(b.unique_reporters == 10 and b.announcement == 1 for b in first)  # type: ignore[attr-defined]
    assert report(detector, 101, "reporter-1", minutes=52) == [], "no growth: no announcement"
    grown = report(detector, 10, "reporter-10", minutes=55)
    assert [b.announcement for b in grown] == [2, 2]  # type: ignore[attr-defined]
    assert len({b.pattern_id for b in [*first, *grown]}) == 2  # type: ignore[attr-defined]
    assert grown[0].recipients == ("od-odnzkg", "pv27")  # type: ignore[attr-defined]


def test_reports_older_than_an_hour_do_not_count() -> None:
    detector = BurstDetector(threshold=3)
    assert report(detector, 1, "a", 0) == []
    assert report(detector, 2, "b", 30) == []
    assert report(detector, 3, "c", 61) == [], "the first report fell out of the hour"
    assert len(report(detector, 4, "d", 62)) == 2


def far_noise(detector: BurstDetector, report_id: str, reporter_key: str) -> list[Burst]:
    """A noise report far from the others (at the origin), for the municipality."""
    return detector.observe(
        report_id=report_id,
        reporter_key=reporter_key,
        category="noise",
        at=START,
        x_m=0.0,
        y_m=0.0,
        facility_ids=[],
        recipients=["gm0453"],
    )


def test_a_rolled_back_transaction_leaves_the_windows_as_they_were() -> None:
    detector = BurstDetector(threshold=3)
    assert report(detector, 1, "a", 0) == []
    journal = detector.begin()
    assert report(detector, 2, "b", 1) == []
    far = far_noise(detector, "r-far", "z")
    assert far == []
    detector.rollback(journal)  # forget r2 and the noise window the transaction opened
    assert report(detector, 3, "c", 2) == [], "r2 was rolled back: two reporters, not three"
    assert len(report(detector, 4, "d", 3)) == 2, "the third unique reporter crosses"
    noise = [far_noise(detector, f"r-far-{n}", f"y{n}") for n in range(2)]
    assert noise == [[], []], "the rolled-back noise report does not count towards a burst"
