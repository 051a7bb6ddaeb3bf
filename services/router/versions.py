"""Registry versions: a report is routed with the registry valid on the day it was observed.

Municipal mergers take effect on 1 January, so the reference directory may hold several
years (``registry/gemeenten_<year>.csv`` and ``boundaries/gemeente_<year>.geojson``); each
year is one version, valid from 1 January until the next version starts.
"""

from __future__ import annotations

import logging
from bisect import bisect_right
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from schemas.report import Report
from services.router.reference.loader import ReferenceDataError, load_registry
from services.router.reference.places import PlaceIndex
from services.router.resolution import Resolver
from services.router.rules import RuleTable
from services.router.wind import WindProvider

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
log = logging.getLogger(__name__)


def available_years(directory: Path) -> list[int]:
    """The years with a municipality table in ``directory/registry``, oldest first."""
    years = []
    for path in (directory / "registry").glob("gemeenten_*.csv"):
        suffix = path.stem.removeprefix("gemeenten_")
        if suffix.isdigit():
            years.append(int(suffix))
    return sorted(years)


class ResolverByYear:
    """One ``Resolver`` per registry version; ``for_report`` picks the one valid on its day."""

    def __init__(self, resolvers: Sequence[Resolver]) -> None:
        if not resolvers:
            raise ReferenceDataError("no registry version to route with")
        self.resolvers = sorted(resolvers, key=lambda r: r.registry.validity.valid_from)
        self._starts = [r.registry.validity.valid_from for r in self.resolvers]
        self.rules = self.resolvers[0].rules

    @classmethod
    def load(cls, directory: Path, rules: RuleTable, wind: WindProvider) -> ResolverByYear:
        years = available_years(directory)
        if not years:
            raise ReferenceDataError(f"{directory / 'registry'} has no gemeenten_<year>.csv")
        resolvers = []
        for index, year in enumerate(years):
            registry = load_registry(directory, year=year)
            if index + 1 < len(years):
                registry.validity = registry.validity.until(
                    date(years[index + 1], 1, 1) - timedelta(days=1)
                )
            centroids = {code: m.centroid for code, m in registry.municipalities.items()}
            places = PlaceIndex.load(directory, centroids, year=year)
            resolvers.append(Resolver(registry, places, rules, wind))
        log.info("registry versions: %s", ", ".join(r.registry.version for r in resolvers))
        return cls(resolvers)

    @property
    def latest(self) -> Resolver:
        return self.resolvers[-1]

    def for_day(self, day: date) -> Resolver:
        """The version valid on ``day``; before the first version, the first one."""
        return self.resolvers[max(0, bisect_right(self._starts, day) - 1)]

    def for_report(self, report: Report) -> Resolver:
        """The version valid on the day ``report`` was observed (in the Netherlands)."""
        return self.for_day(report.observed_at.astimezone(AMSTERDAM).date())

    def possible_recipient_ids(self) -> list[str]:
        return sorted({i for resolver in self.resolvers for i in resolver.possible_recipient_ids()})
