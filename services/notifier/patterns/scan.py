"""Prospective space-time permutation scan (Kulldorff et al. 2005, the SaTScan method), NumPy.

Cases are points in a metric plane with a day number (``today`` is the last day). Candidate
clusters are cylinders: a circle around a location unit (cells of ``unit_m``, 1.5 km by default:
national scans stay within minutes; 1 km cells cost six times more), growing to its
nearest units up to ``max_radius_m`` and at most ``max_share`` of all cases, and a time window
that ends today. Under the space-time permutation model the expected count of a cylinder is
``cases_in_circle(all days) x cases_in_window(everywhere) / all_cases``; the statistic is the
Poisson generalised likelihood ratio. Permuting the days of the cases keeps both marginals, so
only the cylinder counts change: the expected counts are computed once. Significance comes from
``permutations`` Monte Carlo replicas (seeded); where fewer than ``GUMBEL_BELOW`` replicas
reach the cluster, the p-value comes from a Gumbel distribution fitted to the replica maxima (as
SaTScan does), so small p-values need not cost more replicas. The time unit is the caller's
(hours for the hourly scan, ``HOURLY_WINDOWS``); a scan run ``scans_per_day`` times a day has a
recurrence interval of ``1 / (p x scans_per_day)`` days of surveillance. Secondary clusters do
not overlap an earlier reported one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

WINDOWS_DAYS = (1, 2, 3, 4, 5, 6, 7, 14, 30)
HOURLY_WINDOWS = (6, 12, 24, 48, 72, 96, 120, 144, 168, 336, 720)  # hours: 6 h to 30 days
GUMBEL_BELOW = 5

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Cluster:
    centre_x: float
    centre_y: float
    radius_m: float
    window_days: int
    cases: int
    expected: float
    llr: float
    p_value: float
    case_indices: IntArray  # into the input arrays
    scans_per_day: float = 1.0

    @property
    def recurrence_interval_days(self) -> float:
        """Days of surveillance between clusters like this one by chance."""
        return 1.0 / (self.p_value * self.scans_per_day)


@dataclass
class _Geometry:
    unit_of_case: IntArray  # (N,)
    centres: FloatArray  # (U, 2) unit centres
    neighbours: IntArray  # (U, K) unit indices by distance, -1 = none
    radius: FloatArray  # (U, K) distance to the k-th neighbour
    allowed: NDArray[np.bool_]  # (U, K) zone within max_share of the cases
    gather: IntArray  # (U x K) flat: neighbours with "none" pointing at a zero after the units


def _geometry(
    x: FloatArray, y: FloatArray, unit_m: float, max_radius_m: float, max_share: float
) -> _Geometry:
    gx = np.floor(x / unit_m).astype(np.int64)
    gy = np.floor(y / unit_m).astype(np.int64)
    cells, unit_of_case = np.unique(np.stack([gx, gy], axis=1), axis=0, return_inverse=True)
    unit_of_case = unit_of_case.reshape(-1)
    units = len(cells)
    centres = ((cells + 0.5) * unit_m).astype(np.float64)
    reach = int(np.ceil(max_radius_m / unit_m))
    offsets = np.array(
        [(dx, dy) for dx in range(-reach, reach + 1) for dy in range(-reach, reach + 1)]
    )
    distance = np.hypot(offsets[:, 0], offsets[:, 1]) * unit_m
    keep = distance <= max_radius_m
    order = np.argsort(distance[keep], kind="stable")
    offsets, distance = offsets[keep][order], distance[keep][order]
    lookup_origin = cells.min(axis=0) - reach
    shape = cells.max(axis=0) - lookup_origin + reach + 1
    lookup = np.full(tuple(shape), -1, dtype=np.int64)
    lookup[cells[:, 0] - lookup_origin[0], cells[:, 1] - lookup_origin[1]] = np.arange(units)
    neighbour_cells = cells[:, None, :] + offsets[None, :, :] - lookup_origin
    neighbours = lookup[neighbour_cells[..., 0], neighbour_cells[..., 1]]
    # compact each row: present neighbours first, in distance order
    present = neighbours >= 0
    rank = np.argsort(~present, axis=1, kind="stable")
    neighbours = np.take_along_axis(neighbours, rank, axis=1)
    radius = np.broadcast_to(distance, neighbours.shape)
    radius = np.take_along_axis(radius, rank, axis=1)
    width = int(present.sum(axis=1).max())
    neighbours, radius = neighbours[:, :width], radius[:, :width]
    per_unit = np.bincount(unit_of_case, minlength=units).astype(np.float64)
    in_zone = np.where(neighbours >= 0, per_unit[np.maximum(neighbours, 0)], 0.0).cumsum(axis=1)
    allowed = (neighbours >= 0) & (in_zone <= max_share * len(x))
    gather = np.where(neighbours >= 0, neighbours, units).ravel()
    return _Geometry(unit_of_case, centres, neighbours, radius, allowed, gather)


def _zone_counts(
    geometry: _Geometry, unit_counts: IntArray, dtype: type[np.signedinteger[Any]] = np.int32
) -> NDArray[np.signedinteger[Any]]:
    """Cumulative counts over each centre's nearest units: (U, K). ``dtype`` must hold the
    largest count (the replicas use int16 when a window's cases fit: half the memory traffic)."""
    padded = np.append(unit_counts, 0).astype(dtype)  # "none" -> the zero at the end
    gathered = np.take(padded, geometry.gather).reshape(geometry.neighbours.shape)
    return gathered.cumsum(axis=1, dtype=dtype)


@dataclass
class _Candidates:
    """The cylinders with a positive statistic: window index, flat (centre, k) index, LLR."""

    window: IntArray
    flat: IntArray
    llr: FloatArray


@dataclass
class _Windows:
    """What every replica shares: per window its case count and the count a cylinder must
    exceed to be a candidate (``floor(max(expected, minimum - 1))``: at least ``minimum``
    cases and more than expected; the dtype's maximum where the zone is not allowed), flat."""

    order: list[int]  # window indices by case count, smallest first
    sizes: list[int]  # cases in each window (the day marginal, the same in every replica)
    expected: list[NDArray[np.float32]]  # flat (U x K)
    bar: list[NDArray[np.signedinteger[Any]]]  # flat (U x K), of ``dtype``
    dtype: type[np.signedinteger[Any]]


def _windows(
    geometry: _Geometry,
    expected: list[NDArray[np.float32]],
    day: IntArray,
    today: int,
    windows: tuple[int, ...],
    minimum: int,
) -> _Windows:
    allowed = geometry.allowed.ravel()
    flat_expected = [e.ravel() for e in expected]
    sizes = [int((day > today - width).sum()) for width in windows]
    dtype: type[np.signedinteger[Any]] = np.int16 if max(sizes) < 2**15 - 1 else np.int32
    top = np.iinfo(dtype).max
    bar = [
        np.where(allowed, np.minimum(top, np.floor(np.maximum(e, minimum - 1))), top).astype(dtype)
        for e in flat_expected
    ]
    order = sorted(range(len(windows)), key=lambda w: sizes[w])
    return _Windows(order, sizes, flat_expected, bar, dtype)


def _llr(c: NDArray[np.float32], mu: NDArray[np.float32], total: float) -> FloatArray:
    # float32 is exact enough for counts and halves the memory traffic; the outside term
    # uses log1p because (C - c) / (C - mu) is close to 1 when C is large
    whole = np.float32(total)
    outside: NDArray[np.float32] = (whole - c) * np.log1p((mu - c) / (whole - mu))
    inside: NDArray[np.float32] = c * np.log(c / mu)
    return (inside + outside).astype(np.float64)


def _window_counts(
    geometry: _Geometry, prepared: _Windows, units_in_order: IntArray
) -> list[IntArray]:
    """Cases per unit in each window, when the cases in window ``w`` are the first
    ``sizes[w]`` of ``units_in_order`` (nested windows: each adds a slice to the one before)."""
    units = len(geometry.centres)
    counts: list[IntArray] = [np.empty(0, np.int64)] * len(prepared.sizes)
    running, done = np.zeros(units, np.int64), 0
    for w in prepared.order:
        size = prepared.sizes[w]
        if size > done:
            running = running + np.bincount(units_in_order[done:size], minlength=units)
            done = size
        counts[w] = running
    return counts


def _statistic(
    geometry: _Geometry, prepared: _Windows, counts: list[IntArray], total: float
) -> _Candidates:
    """Poisson GLR of every cylinder with at least ``minimum`` cases above expectation."""
    found_window, found_flat, found_llr = [], [], []
    for index, unit_counts in enumerate(counts):
        observed = _zone_counts(geometry, unit_counts, prepared.dtype).ravel()
        flat = np.flatnonzero(observed > prepared.bar[index])
        c = observed[flat].astype(np.float32)
        found_window.append(np.full(len(flat), index, dtype=np.int64))
        found_flat.append(flat.astype(np.int64))
        found_llr.append(_llr(c, prepared.expected[index][flat], total))
    return _Candidates(
        np.concatenate(found_window), np.concatenate(found_flat), np.concatenate(found_llr)
    )


def _replica_maximum(
    geometry: _Geometry, prepared: _Windows, counts: list[IntArray], total: float
) -> float:
    """The largest GLR of one replica (only the maximum is needed)."""
    best = 0.0
    for index, unit_counts in enumerate(counts):
        observed = _zone_counts(geometry, unit_counts, prepared.dtype).ravel()
        flat = np.flatnonzero(observed > prepared.bar[index])
        if len(flat):
            c = observed[flat].astype(np.float32)
            best = max(best, float(_llr(c, prepared.expected[index][flat], total).max()))
    return best


def scan(
    x: FloatArray,
    y: FloatArray,
    day: IntArray,
    *,
    today: int,
    max_radius_m: float = 5000.0,
    max_share: float = 0.5,
    windows: tuple[int, ...] = WINDOWS_DAYS,
    min_cases: int = 3,
    permutations: int = 999,
    seed: int = 0,
    unit_m: float = 1500.0,
    max_clusters: int = 5,
    scans_per_day: float = 1.0,
) -> list[Cluster]:
    """The most likely clusters ending ``today`` with their p-values, best first.

    A replica permutes the days over the cases. Only which cases fall in each (nested) window
    matters, and the windows' sizes are the same in every replica, so a replica draws the
    ``sizes[-1]`` cases of the longest window at random (without replacement) and each window
    takes the first ``sizes[w]`` of them: the same distribution as a full permutation, at the
    cost of the recent cases only."""
    x, y, day = np.asarray(x, float), np.asarray(y, float), np.asarray(day, np.int64)
    total = float(len(x))
    if total < min_cases:
        return []
    geometry = _geometry(x, y, unit_m, max_radius_m, max_share)
    units = len(geometry.centres)
    per_unit = np.bincount(geometry.unit_of_case, minlength=units)
    zone_all = _zone_counts(geometry, per_unit).astype(np.float32)  # circles, all days
    expected = [zone_all * np.float32((day > today - width).sum() / total) for width in windows]
    prepared = _windows(geometry, expected, day, today, windows, min_cases)
    by_recency = np.argsort(-day, kind="stable")
    observed = _statistic(
        geometry,
        prepared,
        _window_counts(geometry, prepared, geometry.unit_of_case[by_recency]),
        total,
    )
    rng = np.random.default_rng(seed)
    longest = max(prepared.sizes)
    maxima = np.zeros(permutations)
    for replica in range(permutations):
        drawn = rng.choice(len(x), size=longest, replace=False)
        counts = _window_counts(geometry, prepared, geometry.unit_of_case[drawn])
        maxima[replica] = _replica_maximum(geometry, prepared, counts, total)
    found = _clusters(observed, maxima, geometry, expected, windows, day, today, max_clusters)
    return [replace(c, scans_per_day=scans_per_day) for c in found]


def p_value(value: float, maxima: FloatArray) -> float:
    """Monte Carlo p-value; from a Gumbel fit to the replica maxima in the far tail."""
    exceed = int((maxima >= value).sum())
    empirical = (1 + exceed) / (len(maxima) + 1)
    if exceed >= GUMBEL_BELOW or len(maxima) < 19:
        return empirical
    spread = float(np.std(maxima)) * np.sqrt(6) / np.pi
    if spread <= 0:
        return empirical
    location = float(np.mean(maxima)) - 0.5772156649 * spread
    tail = -np.expm1(-np.exp(-(value - location) / spread))
    return float(min(empirical, max(tail, 1e-12)))


def _clusters(
    candidates: _Candidates,
    maxima: FloatArray,
    geometry: _Geometry,
    expected: list[NDArray[np.float32]],
    windows: tuple[int, ...],
    day: IntArray,
    today: int,
    max_clusters: int,
) -> list[Cluster]:
    found: list[Cluster] = []
    used_units: set[int] = set()
    width_k = geometry.neighbours.shape[1]
    for position in np.argsort(candidates.llr)[::-1][:5000]:
        if len(found) >= max_clusters:
            break
        value = float(candidates.llr[position])
        w, flat = int(candidates.window[position]), int(candidates.flat[position])
        centre, k = divmod(flat, width_k)
        members = geometry.neighbours[centre, : k + 1]
        members = members[members >= 0]
        if used_units.intersection(members.tolist()):
            continue  # overlaps a cluster reported before it
        used_units.update(members.tolist())
        width = windows[w]
        in_zone = np.isin(geometry.unit_of_case, members) & (day > today - width)
        found.append(
            Cluster(
                centre_x=float(geometry.centres[centre, 0]),
                centre_y=float(geometry.centres[centre, 1]),
                radius_m=float(geometry.radius[centre, k]),
                window_days=width,
                cases=int(in_zone.sum()),
                expected=float(expected[w][centre, k]),
                llr=value,
                p_value=p_value(value, maxima),
                case_indices=np.nonzero(in_zone)[0],
            )
        )
    return found
