"""The facts the impact indicators are computed from, as plain data, and the periods of a table.

Facts are named tuples: a table reads tens of thousands of them, straight from database rows.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

GRANULARITIES = ("month", "year", "range")


class Miner(NamedTuple):
    """A registered miner (the latest registration), and the month of the first one."""

    miner_id: str
    gender: str
    birth_year: int | None  # None once the miner is erased
    work_role: str
    registered_month: str


class ProductionShare(NamedTuple):
    """A miner's grams produced in a month: the equal shares of the lots naming the miner."""

    miner_id: str
    month: str
    mass_g: float


class Team(NamedTuple):
    """The miners named on one production lot, counted: all, women, team leads, women team leads."""

    month: str
    mass_g: float
    members: int
    women: int
    leads: int = 0
    women_leads: int = 0


class MinerSale(NamedTuple):
    """A lot sold by a miner (``lot.transferred`` from a miner): grams and the price per gram, if paid."""

    miner_id: str
    month: str
    mass_g: float
    price_per_g: Decimal | None


class Survey(NamedTuple):
    """A household survey's answers."""

    respondent_id: str
    month: str
    sort_key: str
    gender: str
    age_band: str
    income: Decimal
    controls_own_income: bool
    savings: Decimal | None


class VslaRegistration(NamedTuple):
    """A savings group's members and committee by gender, as registered at ``month``."""

    group_id: str
    month: str
    sort_key: str
    members_female: int
    members_male: int
    committee_female: int
    committee_male: int

    @property
    def members(self) -> int:
        """All members."""
        return self.members_female + self.members_male


class VslaReport(NamedTuple):
    """A savings group's report for one month (``month`` is the report's period)."""

    group_id: str
    month: str
    sort_key: str
    savings: Decimal
    loans: Decimal
    solidarity_assists: int


class Training(NamedTuple):
    """A training session's attendance by gender."""

    month: str
    kind: str
    attendees_female: int
    attendees_male: int


class Leadership(NamedTuple):
    """A person recorded in a position of leadership."""

    person_id: str
    gender: str
    position: str
    organisation_id: str
    month: str
    sort_key: str


@dataclass
class Facts:
    """Everything in scope (a site, a cooperative, or all) for one table of indicators."""

    miners: dict[str, Miner] = field(default_factory=dict)
    productions: list[ProductionShare] = field(default_factory=list)
    teams: list[Team] = field(default_factory=list)
    sales: list[MinerSale] = field(default_factory=list)
    surveys: list[Survey] = field(default_factory=list)
    vsla_registrations: list[VslaRegistration] = field(default_factory=list)
    vsla_reports: list[VslaReport] = field(default_factory=list)
    trainings: list[Training] = field(default_factory=list)
    leadership: list[Leadership] = field(default_factory=list)


@dataclass(frozen=True)
class Periods:
    """The periods of a table: their labels, the month each ends with, and each month's label."""

    labels: tuple[str, ...]
    end_month: dict[str, str]
    label_of: dict[str, str]

    @classmethod
    def between(cls, first: str, last: str, granularity: str = "month") -> "Periods":
        """Periods from month ``first`` to month ``last`` (YYYY-MM, inclusive) by month, year or as one range."""
        if granularity not in GRANULARITIES:
            raise ValueError(f"granularity must be one of {', '.join(GRANULARITIES)}")
        months = months_between(first, last)
        if granularity == "month":
            label_of = {month: month for month in months}
        elif granularity == "year":
            label_of = {month: month[:4] for month in months}
        else:
            label_of = {month: f"{first}..{last}" for month in months}
        labels = tuple(dict.fromkeys(label_of.values()))
        end_month = {label_of[month]: month for month in months}  # the last month wins
        return cls(labels, end_month, label_of)


def months_between(first: str, last: str) -> list[str]:
    """Every month from ``first`` to ``last``, inclusive (empty if ``last`` is before ``first``)."""
    year, month = int(first[:4]), int(first[5:7])
    end = (int(last[:4]), int(last[5:7]))
    months = []
    while (year, month) <= end:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def add_months(month: str, count: int) -> str:
    """The month ``count`` months after ``month`` (before, if negative)."""
    index = int(month[:4]) * 12 + int(month[5:7]) - 1 + count
    return f"{index // 12:04d}-{index % 12 + 1:02d}"
