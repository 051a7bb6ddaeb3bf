"""The space-time permutation scan: calibrated under the null, finds injected clusters."""

from __future__ import annotations

import numpy as np

from services.notifier.patterns.scan import HOURLY_WINDOWS, p_value, scan
from services.notifier.patterns.service import case_indices


def background(rng: np.random.Generator, cases: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reports spread evenly over a 60 x 60 km area and 365 days (no cluster)."""
    return (
        rng.uniform(0, 60_000, cases),
        rng.uniform(0, 60_000, cases),
        rng.integers(0, 365, cases),
    )


def test_p_values_are_calibrated_under_the_null() -> None:
    """Daily scans of cluster-free data: p <= 0.1 about 10 % of the time, p <= 0.01 about 1 %
    (a recurrence interval of 100 days or more about once per 100 days). 150 independent days,
    99 permutations each; the bounds are the binomial 99.9 % range."""
    rng = np.random.default_rng(2026)
    p_values = []
    for trial in range(150):
        x, y, day = background(rng, 1500)
        clusters = scan(x, y, day, today=364, permutations=99, seed=trial, max_clusters=1)
        p_values.append(clusters[0].p_value if clusters else 1.0)
    p = np.array(p_values)
    assert 4 <= (p <= 0.1).sum() <= 29, sorted(p)[:30]
    assert (p <= 0.01).sum() <= 6, "RI >= 100 days at most a few times in 150 null days"


def test_an_injected_cluster_is_found_and_its_detection_time_reported() -> None:
    rng = np.random.default_rng(7)
    x, y, day = background(rng, 2000)
    # from day 360 on, two new reports a day within 800 m of one point
    injected_days = np.repeat(np.arange(360, 365), 2)
    angle = rng.uniform(0, 2 * np.pi, len(injected_days))
    distance = rng.uniform(0, 800, len(injected_days))
    centre = (31_000.0, 27_000.0)
    x = np.concatenate([x, centre[0] + distance * np.cos(angle)])
    y = np.concatenate([y, centre[1] + distance * np.sin(angle)])
    day = np.concatenate([day, injected_days])
    detected_on = None
    for today in range(360, 365):
        past = day <= today
        clusters = scan(x[past], y[past], day[past], today=today, permutations=199, seed=today)
        if clusters and clusters[0].recurrence_interval_days >= 100:
            detected_on = today
            best = clusters[0]
            break
    assert detected_on is not None, "the injected cluster is found within its first five days"
    print(f"time to detection: {detected_on - 360 + 1} day(s)")
    assert np.hypot(best.centre_x - centre[0], best.centre_y - centre[1]) <= 3000
    assert best.cases >= 3


def test_the_same_seed_gives_the_same_answer() -> None:
    rng = np.random.default_rng(1)
    x, y, day = background(rng, 1000)
    first = scan(x, y, day, today=364, permutations=49, seed=5)
    second = scan(x, y, day, today=364, permutations=49, seed=5)
    assert [(c.p_value, c.cases) for c in first] == [(c.p_value, c.cases) for c in second]


def test_secondary_clusters_do_not_overlap_the_primary() -> None:
    rng = np.random.default_rng(3)
    x, y, day = background(rng, 1500)
    for cx, cy in ((10_000.0, 10_000.0), (50_000.0, 50_000.0)):
        x = np.concatenate([x, cx + rng.uniform(-500, 500, 8)])
        y = np.concatenate([y, cy + rng.uniform(-500, 500, 8)])
        day = np.concatenate([day, np.full(8, 364)])
    clusters = scan(x, y, day, today=364, permutations=99, seed=1)
    assert len(clusters) >= 2
    members = [set(c.case_indices.tolist()) for c in clusters]
    assert not members[0] & members[1]
    assert all(c.p_value <= 0.05 for c in clusters[:2]), "both injected clusters stand out"


def streaky_year(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """A cluster-free year in hours: 1200 single reports, and about a fifth more from residents
    who report 2-8 times within 1-3 days (issue 17 §4c; an assumption, not data). Reporter ids,
    x, y and hour, in time order."""
    singles = 1200
    x, y = rng.uniform(0, 60_000, singles), rng.uniform(0, 60_000, singles)
    hour = rng.uniform(0, 365 * 24, singles)
    who = [f"single-{n}" for n in range(singles)]
    for streak in range(60):
        reports = int(rng.integers(2, 9))
        home = rng.uniform(0, 60_000, 2)
        start = rng.uniform(0, 365 * 24 - 72)
        x = np.concatenate([x, home[0] + rng.normal(0, 100, reports)])
        y = np.concatenate([y, home[1] + rng.normal(0, 100, reports)])
        hour = np.concatenate([hour, start + rng.uniform(0, int(rng.integers(1, 4)) * 24, reports)])
        who += [f"streak-{streak}"] * reports
    order = np.argsort(hour, kind="stable")
    return np.array(who)[order], x[order], y[order], hour[order]


def top_p(who: np.ndarray, x: np.ndarray, y: np.ndarray, hour: np.ndarray, seed: int) -> float:
    day = (hour // 24).astype(np.int64)
    clusters = scan(x, y, day, today=364, permutations=99, seed=seed, max_clusters=1)
    return clusters[0].p_value if clusters else 1.0


def test_prolific_reporters_count_once_a_week_in_the_scan() -> None:
    """With every report a case, such streaks make 'clusters' of one resident (the top cluster
    reached RI >= 100 on 66 of 90 null days); one case per reporter per week keeps the scan
    calibrated: RI >= 100 days at most 3 times in 20 null days (binomial 99.9 %)."""
    rng = np.random.default_rng(4)
    collapsed, raw = [], []
    for trial in range(20):
        who, x, y, hour = streaky_year(rng)
        keep = case_indices(list(who), list(hour), gap_h=7 * 24)
        collapsed.append(top_p(who[keep], x[keep], y[keep], hour[keep], seed=trial))
        if trial < 4:
            raw.append(top_p(who, x, y, hour, seed=trial))
    print(
        f"RI >= 100: {sum(p <= 0.01 for p in collapsed)} of 20 once a week per reporter, "
        f"{sum(p <= 0.01 for p in raw)} of 6 with every report a case"
    )
    assert sum(p <= 0.01 for p in collapsed) <= 3
    assert sum(p <= 0.1 for p in collapsed) <= 7
    assert sum(p <= 0.01 for p in raw) >= 3, "the streaks do stand out when counted raw"


def test_an_hourly_scan_sees_a_cluster_within_hours() -> None:
    """Hours as the time unit, windows of 6 hours to 30 days, 24 scans a day: a recurrence
    interval of 100 days of surveillance needs p <= 1 / 2400 (the Gumbel tail of 199
    replicas). A resident every two hours within 800 m, from hour 8000 on."""
    rng = np.random.default_rng(8)
    x, y = rng.uniform(0, 60_000, 2000), rng.uniform(0, 60_000, 2000)
    hour = rng.integers(0, 8760, 2000)
    onset, centre = 8000, (31_000.0, 27_000.0)
    injected = np.arange(onset, onset + 48, 2)
    angle, distance = rng.uniform(0, 2 * np.pi, 24), rng.uniform(0, 800, 24)
    x = np.concatenate([x, centre[0] + distance * np.cos(angle)])
    y = np.concatenate([y, centre[1] + distance * np.sin(angle)])
    hour = np.concatenate([hour, injected])
    detected = None
    for now in range(onset + 6, onset + 49, 3):
        past = hour <= now
        clusters = scan(
            x[past],
            y[past],
            hour[past],
            today=now,
            windows=HOURLY_WINDOWS,
            permutations=199,
            seed=now,
            scans_per_day=24,
            max_clusters=1,
        )
        if clusters and clusters[0].recurrence_interval_days >= 100:
            detected = now - onset
            break
    assert detected is not None
    print(f"hourly scan: detected {detected} h after the first report")
    assert detected <= 24
    assert np.hypot(clusters[0].centre_x - centre[0], clusters[0].centre_y - centre[1]) <= 3000


def test_small_p_values_come_from_the_gumbel_tail() -> None:
    maxima = np.random.default_rng(0).gumbel(10.0, 2.0, 999)
    assert p_value(9.0, maxima) == (1 + (maxima >= 9.0).sum()) / 1000, "empirical in the body"
    far = p_value(40.0, maxima)
    assert 0 < far < 1 / 1000, "beyond every replica: the fitted tail"
    assert abs(far - (-np.expm1(-np.exp(-15.0)))) / far < 0.3


def near_a_facility(rng: np.random.Generator, reporters: int) -> tuple[np.ndarray, ...]:
    """A year in hours: 4000 reports over 60 x 60 km, 220 more within 1.5 km of a facility
    (like the national stream near Nobian Hengelo or Lyondell Botlek), and ``reporters``
    residents within 650 m of a point 1.5 km from it over the last 45 hours (issue 17 §6)."""
    x, y = rng.uniform(0, 60_000, 4000), rng.uniform(0, 60_000, 4000)
    r, a = 1500 * np.sqrt(rng.uniform(0, 1, 220)), rng.uniform(0, 2 * np.pi, 220)
    x, y = np.concatenate([x, 30_000 + r * np.cos(a)]), np.concatenate([y, 30_000 + r * np.sin(a)])
    hour = rng.integers(0, 8760, len(x))
    r, a = rng.uniform(0, 650, reporters), rng.uniform(0, 2 * np.pi, reporters)
    x = np.concatenate([x, 31_500 + r * np.cos(a)])
    y = np.concatenate([y, 30_000 + r * np.sin(a)])
    return x, y, np.concatenate([hour, 8759 - rng.integers(0, 45, reporters)])


def test_near_the_detection_limit() -> None:
    """Issue 17 §6, the limit as it is: nine reporters within ~1.3 km over 45 hours near a
    busy facility are the scan's top cluster (p <= 0.01, the injected reports in it) but stay
    below a recurrence interval of 100 days of hourly surveillance, so they are not announced
    (the burst rule sees them if ten come within an hour); fourteen are announced at once.
    The figures are printed (docs/patterns.md, "Limits")."""
    for reporters, announced in ((9, False), (14, True)):
        for seed in range(3):
            x, y, hour = near_a_facility(np.random.default_rng(seed), reporters)
            clusters = scan(
                x,
                y,
                hour,
                today=8759,
                windows=HOURLY_WINDOWS,
                permutations=199,
                seed=seed,
                scans_per_day=24,
                max_clusters=1,
            )
            top = clusters[0]
            injected = set(range(len(x) - reporters, len(x)))
            caught = len(injected & set(top.case_indices.tolist()))
            print(
                f"{reporters} reporters (seed {seed}): {top.cases} cases, expected "
                f"{top.expected:.2f}, radius {top.radius_m:.0f} m, {top.window_days} h, "
                f"{caught} injected, p {top.p_value:.2g}, RI {top.recurrence_interval_days:.0f} d"
            )
            assert caught >= 4, "the top cluster is the injected one"
            assert top.p_value <= 0.01
            assert (top.recurrence_interval_days >= 100) is announced
