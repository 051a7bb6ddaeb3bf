"""The space-time permutation scan: calibrated under the null, finds injected clusters."""

from __future__ import annotations

import numpy as np

from services.notifier.patterns.scan import scan


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
