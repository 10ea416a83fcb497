"""The impact indicators, computed from facts: pure functions, no database.

``compute(facts, periods, by)`` returns every cell of every indicator for every period, broken
down by gender and/or age band (``by``), with ``n`` (the people behind each cell). Suppression is
applied afterwards, by the reader's role (``consumers.impact.cells.suppress``).
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Iterable, Iterator

from consumers.impact.arithmetic import AGE_BANDS, age_band, gap, median, ratio
from consumers.impact.cells import ALL, Cell
from consumers.impact.facts import Facts, Periods, Team, VslaRegistration
from events.catalogue.impact import TRAINING_KINDS
from events.catalogue.registry import GENDERS, WORK_ROLES

BREAKDOWNS = ("gender", "age_band")


@dataclass
class _Tally:
    """What one cell accumulates: the people behind it (a set while adding, then a count) and sums."""

    people: set = field(default_factory=set)
    amount: Decimal | float | int = 0
    weight: Decimal | float | int = 0
    values: list = field(default_factory=list)
    paid: set = field(default_factory=set)


@dataclass
class _Summary:
    """A cell's totals: people (and people paid) counted, amounts summed, values pooled."""

    n: int = 0
    paid: int = 0
    amount: Decimal | float | int = 0
    weight: Decimal | float | int = 0
    values: list = field(default_factory=list)


class _Table:
    """Tallies by (period, category, gender, age band), rolled up into every "all" above them.

    A fact is added once, to its finest cell; :meth:`tally` sums the finest cells under a key. The
    people of different finest cells never overlap (a person has one gender, one age band in a
    period, one work role), so counting them cell by cell and adding the counts is exact.
    """

    def __init__(self, periods: Periods, by: tuple[str, ...], categories: tuple[str, ...] = (),
                 genders: tuple[str, ...] = GENDERS):
        self.periods = periods
        self.genders = (*genders, ALL) if "gender" in by else (ALL,)
        self.bands = (*AGE_BANDS, ALL) if "age_band" in by else (ALL,)
        self.categories = (*categories, ALL)
        self.by_gender = "gender" in by
        self.by_band = "age_band" in by
        self.finest: dict[tuple[str, str, str, str], _Tally] = defaultdict(_Tally)
        self._rolled: dict[tuple[str, str, str, str], _Summary] | None = None

    def at(self, label: str, gender: str | None, band: str | None, category: str | None = None) -> _Tally:
        """The finest tally a fact of this person adds to."""
        return self.finest[(label, category if category is not None else ALL,
                            gender if gender is not None and self.by_gender else ALL,
                            band if band is not None and self.by_band else ALL)]

    def keys(self, with_categories: bool = True, by_gender: bool = True, by_band: bool = True
             ) -> Iterator[tuple[str, str, str, str]]:
        """Every cell of the full breakdown (so that a missing group is never told apart from a small one)."""
        for label in self.periods.labels:
            for c in (self.categories if with_categories else (ALL,)):
                for g in (self.genders if by_gender else (ALL,)):
                    for b in (self.bands if by_band else (ALL,)):
                        yield (label, c, g, b)

    def tally(self, key: tuple[str, str, str, str]) -> _Summary:
        """The totals of a cell (empty if nothing was added)."""
        if self._rolled is None:
            self._rolled = defaultdict(_Summary)
            for (label, category, gender, band), tally in self.finest.items():
                for c in {category, ALL}:
                    for g in {gender, ALL}:
                        for b in {band, ALL}:
                            summary = self._rolled[(label, c, g, b)]
                            summary.n += len(tally.people)
                            summary.paid += len(tally.paid)
                            summary.amount += tally.amount
                            summary.weight += tally.weight
                            summary.values.extend(tally.values)
        return self._rolled.get(key) or _Summary()


def _cell(indicator: str, key: tuple[str, str, str, str], value, n: int) -> Cell:
    label, category, gender, band = key
    return Cell(period=label, indicator=indicator, value=value, n=n, gender=gender, age_band=band, category=category)


def compute(facts: Facts, periods: Periods, by: Iterable[str] = ("gender",)) -> list[Cell]:
    """Every cell of every indicator (before suppression)."""
    by = tuple(dimension for dimension in BREAKDOWNS if dimension in set(by))
    cells: list[Cell] = []
    cells += miners_registered(facts, periods, by)
    cells += production(facts, periods, by)
    cells += sales(facts, periods, by)
    cells += surveys(facts, periods, by)
    cells += savings_groups(facts, periods, by)
    cells += trainings(facts, periods, by)
    cells += leadership(facts, periods, by)
    return cells


def _comparison(indicator: str, label: str, value, n_women: int, n_men: int) -> Cell:
    """A cell comparing women and men: computed from the smaller of the two groups."""
    return Cell(period=label, indicator=indicator, value=value, n=min(n_women, n_men))


# -- registration ----------------------------------------------------------------------------
def miners_registered(facts: Facts, periods: Periods, by: tuple[str, ...]) -> list[Cell]:
    """Miners registered by the end of each period, by work role, gender and age band; women's share."""
    table = _Table(periods, by, WORK_ROLES)
    with_age = "age_band" in by
    grouped = Counter((m.registered_month, m.work_role, m.gender, m.birth_year if with_age else None)
                      for m in facts.miners.values())
    for label in periods.labels:
        end = periods.end_month[label]
        year = int(end[:4])
        for (registered, role, gender, born), count in grouped.items():
            if registered > end:
                continue
            table.at(label, gender, age_band(born, year) if with_age else None, role).amount += count
    cells = [_cell("miners_registered", key, table.tally(key).amount, table.tally(key).amount) for key in table.keys()]
    for label in periods.labels:
        end = periods.end_month[label]
        by_gender = Counter()
        for (registered, _, gender, _), count in grouped.items():
            if registered <= end:
                by_gender[gender] += count
        cells.append(_comparison("women_share_of_miners", label, ratio(by_gender["female"], sum(by_gender.values())),
                                 by_gender["female"], by_gender["male"]))
    return cells


# -- custody: production and sales -----------------------------------------------------------
def _bands(facts: Facts, periods: Periods, by: tuple[str, ...]):
    """``band(miner, label)``: the miner's age band at the end of the period (None when not broken down)."""
    if "age_band" not in by:
        return lambda miner, label: None
    years = {label: int(end[:4]) for label, end in periods.end_month.items()}
    cache: dict[tuple[int, str], str] = {}

    def band(miner, label: str) -> str:
        key = (miner.birth_year, label)
        if key not in cache:
            cache[key] = age_band(miner.birth_year, years[label])
        return cache[key]
    return band


def production(facts: Facts, periods: Periods, by: tuple[str, ...]) -> list[Cell]:
    """Grams produced, per producing miner, and the share from women-led teams."""
    table = _Table(periods, by)
    band_of = _bands(facts, periods, by)
    for share in facts.productions:
        label = periods.label_of.get(share.month)
        miner = facts.miners.get(share.miner_id)
        if label is None or miner is None:
            continue
        tally = table.at(label, miner.gender, band_of(miner, label))
        tally.people.add(share.miner_id)
        tally.amount += share.mass_g
    cells = []
    for key in table.keys():
        tally = table.tally(key)
        producers = tally.n
        cells.append(_cell("production_g", key, tally.amount, producers))
        cells.append(_cell("production_g_per_miner", key, tally.amount / producers if producers else None, producers))
    led: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])  # label -> [women-led grams, all grams]
    for team in facts.teams:
        label = periods.label_of.get(team.month)
        if label is None:
            continue
        led[label][1] += team.mass_g
        if women_led(team):
            led[label][0] += team.mass_g
    for label in periods.labels:
        women_grams, grams = led.get(label, (0.0, 0.0))
        cells.append(Cell(period=label, indicator="production_share_women_led_teams",
                          value=ratio(women_grams, grams), n=table.tally((label, ALL, ALL, ALL)).n))
    return cells


def women_led(team: Team) -> bool:
    """A team is women-led if a woman is its team lead; with no team lead, if most of it are women."""
    if team.leads:
        return team.women_leads > 0
    return 2 * team.women > team.members


def sales(facts: Facts, periods: Periods, by: tuple[str, ...]) -> list[Cell]:
    """Grams sold and money received per seller, the price per gram, and the gender gaps."""
    table = _Table(periods, by)
    band_of = _bands(facts, periods, by)
    for sale in facts.sales:
        label = periods.label_of.get(sale.month)
        miner = facts.miners.get(sale.miner_id)
        if label is None or miner is None:
            continue
        tally = table.at(label, miner.gender, band_of(miner, label))
        tally.people.add(sale.miner_id)
        tally.values.append(sale.mass_g)
        if sale.price_per_g is not None:
            grams = Decimal(repr(sale.mass_g))
            tally.paid.add(sale.miner_id)
            tally.amount += grams * sale.price_per_g
            tally.weight += grams
    cells = []
    for key in table.keys():
        tally = table.tally(key)
        sellers, paid = tally.n, tally.paid
        cells.append(_cell("sales_g_per_seller", key, math.fsum(tally.values) / sellers if sellers else None, sellers))
        cells.append(_cell("income_per_seller", key, ratio(tally.amount, paid), paid))
        cells.append(_cell("price_per_g", key, ratio(tally.amount, tally.weight), paid))
    if "gender" in by:
        for label in periods.labels:
            women = table.tally((label, ALL, "female", ALL))
            men = table.tally((label, ALL, "male", ALL))
            cells.append(_comparison("gender_gap_price_per_g", label,
                                     gap(ratio(men.amount, men.weight), ratio(women.amount, women.weight)),
                                     women.paid, men.paid))
            cells.append(_comparison("gender_gap_income", label,
                                     gap(ratio(men.amount, men.paid), ratio(women.amount, women.paid)),
                                     women.paid, men.paid))
    return cells


# -- household surveys -----------------------------------------------------------------------
def surveys(facts: Facts, periods: Periods, by: tuple[str, ...]) -> list[Cell]:
    """Median income and savings, and control over one's own income, from each respondent's latest survey."""
    latest = {}
    for survey in facts.surveys:
        label = periods.label_of.get(survey.month)
        if label is None:
            continue
        key = (label, survey.respondent_id)
        if key not in latest or survey.sort_key > latest[key].sort_key:
            latest[key] = survey
    income, savings = _Table(periods, by), _Table(periods, by)
    for (label, respondent), survey in latest.items():
        tally = income.at(label, survey.gender, survey.age_band)
        tally.people.add(respondent)
        tally.values.append(survey.income)
        tally.amount += 1 if survey.controls_own_income else 0
        if survey.savings is not None:
            tally = savings.at(label, survey.gender, survey.age_band)
            tally.people.add(respondent)
            tally.values.append(survey.savings)
    cells = []
    for key in income.keys():
        tally, saved = income.tally(key), savings.tally(key)
        cells.append(_cell("survey_income_median", key, median(tally.values), tally.n))
        cells.append(_cell("controls_own_income_share", key, ratio(tally.amount, tally.n), tally.n))
        cells.append(_cell("survey_savings_median", key, median(saved.values), saved.n))
    if "gender" in by:
        for label in periods.labels:
            women = income.tally((label, ALL, "female", ALL))
            men = income.tally((label, ALL, "male", ALL))
            cells.append(_comparison("gender_gap_survey_income", label,
                                     gap(median(men.values), median(women.values)), women.n, men.n))
    return cells


# -- savings groups --------------------------------------------------------------------------
def registration_as_of(history: list[VslaRegistration], month: str) -> VslaRegistration | None:
    """A group's latest registration on or before ``month`` (its history sorted by sort key)."""
    found = None
    for registration in history:
        if registration.month <= month:
            found = registration
    return found


def savings_groups(facts: Facts, periods: Periods, by: tuple[str, ...]) -> list[Cell]:
    """Members and committee seats by gender, female-led committees, savings, loans and solidarity."""
    histories: dict[str, list[VslaRegistration]] = defaultdict(list)
    for registration in sorted(facts.vsla_registrations, key=lambda r: r.sort_key):
        histories[registration.group_id].append(registration)
    # groups count women and men only: "other" cells would be structural zeros that let a reader
    # subtract a hidden cell from the total, so they are not emitted
    genders = ("female", "male") if "gender" in by else ()
    cells = []
    for label in periods.labels:
        end = periods.end_month[label]
        current = [r for r in (registration_as_of(h, end) for h in histories.values()) if r is not None]
        members = {"female": sum(r.members_female for r in current), "male": sum(r.members_male for r in current)}
        seats = {"female": sum(r.committee_female for r in current), "male": sum(r.committee_male for r in current)}
        for name, counts in (("vsla_members", members), ("vsla_committee_seats", seats)):
            total = counts["female"] + counts["male"]
            cells.append(Cell(period=label, indicator=name, value=total, n=total))
            for gender in genders:
                count = counts[gender]
                cells.append(Cell(period=label, indicator=name, value=count, n=count, gender=gender))
        mixed = [r for r in current if r.members_female and r.members_male]
        female_led = sum(1 for r in mixed if r.committee_female > r.committee_male)
        cells.append(Cell(period=label, indicator="vsla_female_dominated_committees_share",
                          value=ratio(female_led, len(mixed)), n=sum(r.members for r in mixed)))
    latest = {}
    for report in facts.vsla_reports:
        key = (report.group_id, report.month)
        if key not in latest or report.sort_key > latest[key].sort_key:
            latest[key] = report
    money = defaultdict(lambda: {"savings": Decimal(0), "loans": Decimal(0), "assists": 0, "member_months": 0,
                                 "groups": set()})
    for (group_id, month), report in latest.items():
        label = periods.label_of.get(month)
        history = histories.get(group_id)
        if label is None or not history:
            continue
        registration = registration_as_of(history, month) or history[0]
        entry = money[label]
        entry["savings"] += report.savings
        entry["loans"] += report.loans
        entry["assists"] += report.solidarity_assists
        entry["member_months"] += registration.members
        entry["groups"].add(group_id)
    for label in periods.labels:
        entry = money.get(label)
        if entry is None:
            n, values = 0, (None, None, None, None)
        else:
            end = periods.end_month[label]
            n = sum((registration_as_of(histories[g], end) or histories[g][0]).members for g in entry["groups"])
            values = (entry["savings"], entry["loans"], ratio(entry["savings"], entry["member_months"]), entry["assists"])
        for name, value in zip(("vsla_savings", "vsla_loans", "vsla_savings_per_member_month",
                                "vsla_solidarity_assists"), values):
            cells.append(Cell(period=label, indicator=name, value=value, n=n))
    return cells


# -- trainings and leadership ----------------------------------------------------------------
def trainings(facts: Facts, periods: Periods, by: tuple[str, ...]) -> list[Cell]:
    """Attendance at trainings by kind and gender."""
    table = _Table(periods, by, TRAINING_KINDS, genders=("female", "male"))  # attendance is by women and men
    for training in facts.trainings:
        label = periods.label_of.get(training.month)
        if label is None:
            continue
        for gender, count in (("female", training.attendees_female), ("male", training.attendees_male)):
            table.at(label, gender, None, training.kind).amount += count
    return [_cell("training_attendance", key, table.tally(key).amount, table.tally(key).amount)
            for key in table.keys(by_band=False)]


def leadership(facts: Facts, periods: Periods, by: tuple[str, ...]) -> list[Cell]:
    """Positions of leadership held by the end of each period, by gender, and women's share of them."""
    records = sorted(facts.leadership, key=lambda record: record.sort_key)
    table = _Table(periods, by)
    cells = []
    for label in periods.labels:
        end = periods.end_month[label]
        gender_of: dict[str, str] = {}
        positions: set[tuple[str, str, str]] = set()
        for record in records:
            if record.month <= end:
                gender_of[record.person_id] = record.gender  # the latest record says
                positions.add((record.person_id, record.organisation_id, record.position))
        held = Counter(gender_of[person] for person, _, _ in positions)
        positions_of = Counter(person for person, _, _ in positions)
        for person, gender in gender_of.items():
            tally = table.at(label, gender, None)
            tally.people.add(person)
            tally.amount += positions_of[person]
        cells.append(_comparison("leadership_women_share", label, ratio(held["female"], len(positions)),
                                 sum(1 for g in gender_of.values() if g == "female"),
                                 sum(1 for g in gender_of.values() if g == "male")))
    cells += [_cell("leadership_positions", key, table.tally(key).amount, table.tally(key).n)
              for key in table.keys(by_band=False)]
    return cells
