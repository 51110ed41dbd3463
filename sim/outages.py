"""Exogenous outages of the installed hashrate: a ban, a disaster (China's 2021 mining ban).

An outage switches off a share of every machine installed before its ``start`` (the *exposed*
units: ``fleet.exposed``), ramping linearly to ``share`` by ``full``; from ``return_start`` to
``return_end`` a ``return_share`` of it comes back, linearly (machines relocated abroad); at
``return_end`` the share still off is lost for good (scrapped). Machines delivered after the start
are not exposed. The switched-off machines stay on their owners' books and in the MW they hold
(they are being moved), so entrants do not replace them at once; they earn nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sim.input.schema import Outage


@dataclass(frozen=True)
class OutageDays:
    """One outage in days since the scenario's start."""

    start: float
    full: float
    return_start: float
    return_end: float
    share: float
    return_share: float

    @classmethod
    def of(cls, outage: Outage, start_date: dt.date) -> OutageDays:
        def day(d: dt.date) -> float:
            return float((d - start_date).days)

        return cls(
            day(outage.start),
            day(outage.full),
            day(outage.return_start),
            day(outage.return_end),
            outage.share,
            outage.return_share,
        )

    @property
    def lost_share(self) -> float:
        """Share of the exposed hashrate lost for good at ``return_end``."""
        return self.share * (1.0 - self.return_share)

    def offline_share(self, day: float) -> float:
        """Share of the exposed hashrate switched off on ``day`` (0 outside the outage)."""
        if day < self.start or day >= self.return_end:
            return 0.0
        if day < self.full:
            return self.share * (day - self.start) / (self.full - self.start)
        if day < self.return_start:
            return self.share
        back = (day - self.return_start) / (self.return_end - self.return_start)
        return self.share - (self.share - self.lost_share) * back


class OutageSchedule:
    """The scenario's outages, in order; tracks which one has exposed the fleet."""

    def __init__(self, outages, start_date: dt.date):
        self.outages = [OutageDays.of(o, start_date) for o in outages]
        self.exposing: OutageDays | None = None  # the outage whose exposed units are marked

    def step(self, fleet, day: float) -> tuple[float, float]:
        """Advance to ``day``: when an outage starts, mark every unit of ``fleet`` exposed;
        when it ends, clear the marks. Returns (the share of the exposed units' hashrate off on
        ``day``, the share they lose for good now: non-zero only on the epoch the outage ends,
        with ``fleet.exposed`` still marking the units that lose it)."""
        current = self.exposing
        if current is not None and day >= current.return_end:
            self.exposing = None
            return 0.0, current.lost_share
        for outage in self.outages:
            if outage.start <= day < outage.return_end and current is not outage:
                self.exposing = current = outage
                fleet.exposed[:] = True
        return (0.0 if current is None else current.offline_share(day)), 0.0


__all__ = ["OutageDays", "OutageSchedule"]
