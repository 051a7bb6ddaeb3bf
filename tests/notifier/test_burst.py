"""The burst rule: unique reporters within 60 minutes of observation time (late submissions
join past windows up to the lateness bound), one pattern per burst, announced on forming and on
material growth."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.notifier.patterns.burst import Burst, BurstDetector

START = datetime(2026, 11, 23, 19, 0, tzinfo=UTC)


def report(
    detector: BurstDetector,
    n: int,
    reporter: str,
    minutes: float,
    *,
    submitted: float | None = None,
    category: str = "odour",
    x_m: float = 10_500.0,
    facility_ids: tuple[str, ...] = ("tata_steel_ijmuiden",),
) -> list[Burst]:
    """Report ``n`` observed ``minutes`` after 19:00, submitted at ``submitted`` (default: then)."""
    return detector.observe(
        report_id=f"r{n}",
        reporter_key=reporter,
        category=category,
        at=START + timedelta(minutes=minutes),
        received_at=START + timedelta(minutes=minutes if submitted is None else submitted),
        x_m=x_m,
        y_m=20_500.0,
        facility_ids=list(facility_ids),
        recipients=["pv27", "od-odnzkg"],
    )


def in_arrival_order(detector: BurstDetector, reports: list[tuple[float, float]]) -> list[Burst]:
    """Reports (observed, submitted) in minutes, each by its own resident, fed as they arrive."""
    order = sorted(range(len(reports)), key=lambda n: reports[n][1])
    found: list[Burst] = []
    for n in order:
        observed, submitted = reports[n]
        found += report(detector, n, f"resident-{n}", observed, submitted=submitted)
    return found


def test_ten_unique_reporters_in_an_hour_are_one_burst_announced_again_on_growth() -> None:
    detector = BurstDetector(threshold=10)
    announced: list[Burst] = []
    for n in range(9):
        announced += report(detector, n, f"reporter-{n}", minutes=n * 5)
    assert announced == []
    announced += report(detector, 100, "reporter-0", minutes=46)  # the same person again
    assert announced == [], "one reporter counts once"
    first = report(detector, 9, "reporter-9", minutes=50)
    assert len(first) == 1, "one burst, not one per facility and cell"
    assert first[0].unique_reporters == 10
    assert first[0].announcement == 1
    assert first[0].facility_ids == ("tata_steel_ijmuiden",)
    assert first[0].cells == ((10, 20),)
    assert first[0].recipients == ("od-odnzkg", "pv27")
    for n in range(10, 14):
        assert report(detector, n, f"reporter-{n}", minutes=52) == [], "not yet grown by half"
    grown = report(detector, 14, "reporter-14", minutes=55)
    assert [(b.announcement, b.unique_reporters) for b in grown] == [(2, 15)]
    assert grown[0].pattern_id == first[0].pattern_id, "the same burst, updated"


def test_reports_older_than_an_hour_of_observation_do_not_count() -> None:
    detector = BurstDetector(threshold=3)
    assert report(detector, 1, "a", 0) == []
    assert report(detector, 2, "b", 30) == []
    assert report(detector, 3, "c", 61) == [], "the first report is 61 minutes before"
    assert len(report(detector, 4, "d", 62)) == 1


def test_a_late_submission_does_not_make_a_false_burst() -> None:
    """Issue 17: one report observed at 19:00 but submitted at 19:50, then nine observed 19:05 -
    20:05: at most nine unique reporters in any 60 minutes of observation time."""
    nine = [5 + 7.5 * n for n in range(9)]  # 19:05 ... 20:05
    assert in_arrival_order(BurstDetector(threshold=10), [(0, 50), *((m, m) for m in nine)]) == []


def test_a_late_submission_completes_a_missed_burst() -> None:
    """Issue 17: ten reporters observed within 45 minutes, the tenth submitted an hour later."""
    reports = [(5.0 * n, 5.0 * n) for n in range(9)] + [(45.0, 105.0)]
    found = in_arrival_order(BurstDetector(threshold=10), reports)
    assert [b.unique_reporters for b in found] == [10]
    assert found[0].window_end == START + timedelta(minutes=45), "in observation time"


def test_near_misses_do_not_fire() -> None:
    def fires(reports: list[tuple[float, float]]) -> bool:
        return bool(in_arrival_order(BurstDetector(threshold=10), reports))

    assert not fires([(6.0 * n, 6.0 * n) for n in range(9)]), "nine unique reporters in an hour"
    assert not fires([(7.0 * n, 7.0 * n) for n in range(10)]), "ten reporters over 63 minutes"
    beyond = [(5.0 * n, 5.0 * n) for n in range(9)] + [(45.0, 45.0 + 6 * 60 + 1)]
    assert not fires(beyond), "the tenth submitted more than six hours after it was observed"
    three = BurstDetector(threshold=10)
    assert not [b for n in range(10) for b in report(three, n, f"resident-{n % 3}", 5 * n)]
    other = BurstDetector(threshold=10)
    found = [b for n in range(9) for b in report(other, n, f"resident-{n}", 5 * n)]
    found += report(other, 9, "resident-9", 46, category="noise")
    assert not found, "nine plus one of another category"


def test_a_second_episode_at_the_same_place_is_a_new_burst() -> None:
    detector = BurstDetector(threshold=3)
    first = [b for n in range(3) for b in report(detector, n, f"a{n}", n)]
    later = [b for n in range(3) for b in report(detector, 10 + n, f"b{n}", 8 * 60 + n)]
    assert len(first) == len(later) == 1
    assert first[0].pattern_id != later[0].pattern_id
    assert later[0].announcement == 1


def test_a_burst_among_many_facilities_is_one_announcement() -> None:
    """Issue 17 (Botlek): 20 reporters over two cells, each attributed to some of four nearby
    facilities: one pattern listing its facilities and cells (it made 168 events), announced
    when it forms and once as it grows by half."""
    detector = BurstDetector(threshold=10)
    plants = ("lyondell", "shell_pernis", "huntsman", "air_liquide")
    found: list[Burst] = []
    for n in range(20):
        near = tuple(plants[(n + i) % 4] for i in range(3))
        found += report(
            detector, n, f"resident-{n}", 2.5 * n, x_m=9_600.0 + 100 * n, facility_ids=near
        )
    # a facility reaches ten at the 13th report (each hears of three in four): 13, then 20
    assert [(b.announcement, b.unique_reporters) for b in found] == [(1, 13), (2, 20)]
    assert len({b.pattern_id for b in found}) == 1
    assert set(found[-1].facility_ids) == set(plants)
    assert found[-1].cells == ((10, 20),), "the cell with ten of them (the others have 4 and 6)"


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
    assert len(report(detector, 4, "d", 3)) == 1, "the third unique reporter crosses"
    noise = [far_noise(detector, f"r-far-{n}", f"y{n}") for n in range(2)]
    assert noise == [[], []], "the rolled-back noise report does not count towards a burst"


def test_a_rolled_back_announcement_is_announced_again() -> None:
    detector = BurstDetector(threshold=3)
    report(detector, 1, "a", 0)
    report(detector, 2, "b", 1)
    journal = detector.begin()
    first = report(detector, 3, "c", 2)
    detector.rollback(journal)
    again = report(detector, 3, "c", 2)
    assert [b.announcement for b in first] == [b.announcement for b in again] == [1]
    assert first[0].pattern_id == again[0].pattern_id


def test_a_burst_that_dips_and_picks_up_again_counts_every_report() -> None:
    """Reports that came while the key was below the threshold join once it fires again."""
    detector = BurstDetector(threshold=3)
    first = [b for n, who in enumerate("abc") for b in report(detector, n, who, n)]
    assert [b.unique_reporters for b in first] == [3]
    assert report(detector, 3, "d", 70) == [], "d alone in its hour"
    assert report(detector, 4, "e", 71) == []
    again = report(detector, 5, "f", 72)
    assert [(b.pattern_id, b.unique_reporters) for b in again] == [(first[0].pattern_id, 6)]
    assert "r3" in again[0].report_ids
