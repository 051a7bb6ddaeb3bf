"""Facility recurrence: a CUSUM on each facility's daily unique reporters against its own moving,
weekday-adjusted, overdispersed baseline, with a threshold calibrated to an in-control average
run length (ARL) of a year (ADR 0015).

For day ``t`` the expected count is ``mu_t = level_t x weekday_t``: ``level_t`` is the
weekday-adjusted mean of the ``BASELINE_DAYS`` before a ``GUARD_DAYS`` gap (so a slow drift is
followed and a new rise is not absorbed at once), ``weekday_t`` the shrunken weekday factor of
the half year before the gap. The dispersion ``phi`` (variance / mean, at least 1) is estimated
from the same half year: day-to-day weather variation makes counts overdispersed. The CUSUM adds
standardised excesses ``z_t = (y_t - mu_t) / sqrt(phi mu_t)``, clipped at ``Z_CAP`` (a one-day
spike is the burst rule's work; recurrence is persistence), minus ``K``; it alarms above ``h``
and starts again from zero. ``h`` is set by simulating the whole procedure (estimation
included) on negative-binomial streams with the facility's level and dispersion, seeded per
(level, dispersion) bucket, so that alarms come once per ``ARL_DAYS`` in control. The thresholds
of every bucket are shipped in ``thresholds.py`` (``python -m services.notifier.patterns.calibrate``
writes it; a test checks it against this procedure), so an evaluation only looks them up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from services.notifier.patterns import thresholds

FloatArray = NDArray[np.float64]

ARL_DAYS = 365.0
BASELINE_DAYS = 56
GUARD_DAYS = 7
WEEKDAY_DAYS = 182
K = 0.5
Z_CAP = 4.0
MIN_LEVEL = 1 / 60  # a facility with fewer than one report in two months: one report a quarter
HISTORY_DAYS = GUARD_DAYS + WEEKDAY_DAYS  # days needed before the first evaluated day
QUIET_DAYS = 28  # an alarm after this many days without one starts a new episode
EVALUATED_DAYS = 90  # the days whose alarms the daily evaluation looks at
CALIBRATION_PATHS = 200  # simulated in-control streams per bucket, a year each
# what the threshold table depends on (``thresholds.py`` is regenerated when any of it changes)
PROCEDURE: dict[str, float] = {
    "ARL_DAYS": ARL_DAYS,
    "BASELINE_DAYS": BASELINE_DAYS,
    "GUARD_DAYS": GUARD_DAYS,
    "WEEKDAY_DAYS": WEEKDAY_DAYS,
    "K": K,
    "Z_CAP": Z_CAP,
    "MIN_LEVEL": MIN_LEVEL,
    "CALIBRATION_PATHS": CALIBRATION_PATHS,
}


@dataclass(frozen=True)
class Baseline:
    mu: FloatArray  # expected count per day (nan before the history is long enough)
    phi: float
    level: float


def baseline(counts: FloatArray) -> Baseline:
    """The expected count of every day from the days before it (moving, weekday-adjusted)."""
    mu, phi, level = _baselines(counts[None, :])
    return Baseline(mu[0], float(phi[0]), float(level[0]))


def _baselines(counts: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Per stream (rows): the expected count of every day, the dispersion and the last level."""
    paths, days = counts.shape
    mu = np.full((paths, days), np.nan)
    if days <= HISTORY_DAYS:
        return mu, np.ones(paths), np.full(paths, MIN_LEVEL)
    cumulative = np.concatenate([np.zeros((paths, 1)), np.cumsum(counts, axis=1)], axis=1)
    weekday = np.arange(days) % 7
    per_weekday = np.zeros((7, paths, days + 1))  # running sums of each weekday's counts
    for d in range(7):
        per_weekday[d, :, 1:] = np.where(weekday == d, counts, 0.0).cumsum(axis=1)
    t = np.arange(HISTORY_DAYS, days)
    end = t - GUARD_DAYS
    level = (cumulative[:, end] - cumulative[:, end - BASELINE_DAYS]) / BASELINE_DAYS
    mean = (cumulative[:, end] - cumulative[:, end - WEEKDAY_DAYS]) / WEEKDAY_DAYS
    same = (per_weekday[t % 7, :, end] - per_weekday[t % 7, :, end - WEEKDAY_DAYS]).T
    weeks = WEEKDAY_DAYS / 7
    # the weekday factor shrinks towards 1 with four pseudo-weeks (rare counts are noisy)
    with np.errstate(invalid="ignore", divide="ignore"):
        factor = np.where(mean > 0, (same + 4 * mean) / ((weeks + 4) * mean), 1.0)
    mu[:, HISTORY_DAYS:] = np.maximum(MIN_LEVEL, np.maximum(MIN_LEVEL, level) * factor)
    history = counts[:, days - GUARD_DAYS - WEEKDAY_DAYS : days - GUARD_DAYS]
    means = history.mean(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        phi = np.where(means > 0, history.var(axis=1, ddof=1) / means, 1.0)
    last = np.maximum(
        MIN_LEVEL,
        (cumulative[:, -1 - GUARD_DAYS] - cumulative[:, -1 - GUARD_DAYS - BASELINE_DAYS])
        / BASELINE_DAYS,
    )
    return mu, np.clip(phi, 1.0, 5.0), last


def cusum(counts: FloatArray, mu: FloatArray, phi: float, h: float) -> list[int]:
    """The days (indices) on which the CUSUM crosses ``h`` (it restarts from zero after each)."""
    alarms, statistic = [], 0.0
    valid = np.flatnonzero(~np.isnan(mu))
    z = np.minimum(Z_CAP, (counts[valid] - mu[valid]) / np.sqrt(phi * mu[valid])) - K
    for t, step in zip(valid.tolist(), z.tolist(), strict=True):
        statistic = max(0.0, statistic + step)
        if statistic > h:
            alarms.append(t)
            statistic = 0.0
    return alarms


def _bucket(level: float, phi: float) -> tuple[int, float]:
    """Levels on a log scale (steps of 25 %), dispersion in steps of 0.25."""
    level = max(MIN_LEVEL, level)
    return (round(math.log(level) / math.log(1.25)), round(min(5.0, phi) * 4) / 4)


# the buckets of the shipped table: levels from MIN_LEVEL to ~87 unique reporters a day
STEPS = range(_bucket(MIN_LEVEL, 1.0)[0], 21)
PHIS = tuple(1.0 + 0.25 * n for n in range(17))


def threshold(level: float, phi: float, arl_days: float = ARL_DAYS) -> float:
    """The CUSUM threshold ``h`` for an in-control ARL of ``arl_days`` at this level: from the
    shipped table (``thresholds.py``, generated by ``calibrate.py``) when it covers the bucket
    and was made by this procedure, otherwise simulated now and cached for the process."""
    step, phi_bucket = _bucket(level, phi)
    if arl_days == ARL_DAYS and thresholds.PROCEDURE == PROCEDURE:
        shipped = thresholds.TABLE.get((step, phi_bucket))
        if shipped is not None:
            return shipped
    return _calibrated(step, phi_bucket, arl_days)


H_GRID = np.geomspace(1.0, 40.0, 64)


@lru_cache(maxsize=512)
def _calibrated(step: int, phi: float, arl_days: float) -> float:
    return calibrate(step, phi, arl_days)


def calibrate(step: int, phi: float, arl_days: float) -> float:
    """The smallest ``h`` on a fine grid whose alarm rate per day, over seeded in-control
    negative-binomial streams with a weekday rhythm (estimation included), is at most
    ``1 / arl_days``; all candidate thresholds run over the same streams in one pass."""
    level = 1.25**step
    rng = np.random.default_rng([step + 1000, int(phi * 4), int(arl_days)])
    paths, days = CALIBRATION_PATHS, HISTORY_DAYS + 365
    rhythm = np.array([1.15, 1.1, 1.05, 1.0, 1.0, 0.85, 0.85])
    rate = np.broadcast_to(level * np.tile(rhythm, days // 7 + 1)[:days], (paths, days))
    if phi > 1.0:  # gamma-Poisson: variance phi x mean at the level
        shape = level / (phi - 1.0)
        rate = rate * rng.gamma(shape, 1.0 / shape, (paths, days))
    counts = rng.poisson(rate).astype(np.float64)
    mu, phis, _ = _baselines(counts)
    z = np.minimum(Z_CAP, (counts - mu) / np.sqrt(phis[:, None] * mu)) - K
    statistic = np.zeros((len(H_GRID), paths))
    alarms = np.zeros(len(H_GRID))
    for t in range(HISTORY_DAYS, days):
        statistic = np.maximum(0.0, statistic + z[None, :, t])
        crossed = statistic > H_GRID[:, None]
        alarms += crossed.sum(axis=1)
        statistic[crossed] = 0.0
    rates = alarms / (paths * (days - HISTORY_DAYS))
    within = np.flatnonzero(rates <= 1 / arl_days)
    return float(H_GRID[within[0]] if len(within) else H_GRID[-1])


@dataclass(frozen=True)
class Episode:
    """A run of alarms at one facility: it starts with an alarm after a quiet period."""

    first_alarm: date
    last_alarm: date
    alarms: int


def episodes(daily: dict[date, int], today: date, *, arl_days: float = ARL_DAYS) -> list[Episode]:
    """The alarm episodes of one facility's daily counts in the ``EVALUATED_DAYS`` up to and
    including ``today`` (the counts of the ``HISTORY_DAYS`` before them are its baseline)."""
    first = today - timedelta(days=HISTORY_DAYS + EVALUATED_DAYS - 1)
    days = HISTORY_DAYS + EVALUATED_DAYS
    counts = np.zeros(days)
    for day, count in daily.items():
        if first <= day <= today:
            counts[(day - first).days] = count
    fitted = baseline(counts)
    h = threshold(fitted.level, fitted.phi, arl_days)
    found: list[Episode] = []
    for index in cusum(counts, fitted.mu, fitted.phi, h):
        day = first + timedelta(days=index)
        if found and (day - found[-1].last_alarm).days <= QUIET_DAYS:
            previous = found[-1]
            found[-1] = Episode(previous.first_alarm, day, previous.alarms + 1)
        else:
            found.append(Episode(day, day, 1))
    return found
