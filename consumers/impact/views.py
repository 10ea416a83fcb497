"""Read side of the impact model: the indicator tables of a site, a cooperative or everything.

``ImpactView.table`` loads the facts in scope, computes every cell (``indicators.compute``) and
suppresses small cells unless the reader may see them (admins only). The model's other views (a
piece's value chain, the payouts ledger) and the vocabulary of a table request are handed on from
here, so that readers need no other module of the model.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any, Iterable

from sqlalchemy import Connection, Engine, and_, case, func, select, union_all

from consumers import tracking
from consumers.impact import tables as t
from consumers.impact.catalogue import INDICATORS
from consumers.impact.cells import MIN_CELL, Cell, render, suppress
from consumers.impact.facts import (
    GRANULARITIES, Facts, Leadership, Miner, MinerSale, Periods, ProductionShare, Survey, Team, Training,
    VslaRegistration, VslaReport, add_months, months_between,
)
from consumers.impact.indicators import compute
from consumers.impact.ledger import PayoutsView
from consumers.impact.payout_findings import KINDS as PAYOUT_FINDING_KINDS, PayoutFindings
from consumers.impact.statement_views import StatementView
from consumers.impact.value_chain import ValueChainView

DEFAULT_MONTHS = 24


@dataclass(frozen=True)
class Scope:
    """Whose indicators: one site, one cooperative, both (the cooperative's miners at that site), or all."""

    site_id: str | None = None
    cooperative_id: str | None = None


@dataclass(frozen=True)
class TableRequest:
    """What a table of indicators covers and how it is broken down."""

    scope: Scope
    first: str  # YYYY-MM
    last: str  # YYYY-MM
    granularity: str = "month"
    by: tuple[str, ...] = ("gender",)
    currency: str = "USD"


class ImpactView:
    """Queries over the impact read model.

    Tables are cached by request and by the impact projector's checkpoint: the read model changes
    only when its checkpoint moves, so an answer stays right until then, and a dashboard refreshed
    by many people costs one computation per batch of new events.
    """

    def __init__(self, engine: Engine, cache_size: int = 64):
        self.engine = engine
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple, tuple[list[Cell], dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()

    # -- what there is ----------------------------------------------------------------------
    def scopes(self) -> dict[str, list[dict[str, Any]]]:
        """The sites and cooperatives there are indicators for (for pickers and links)."""
        with self.engine.connect() as connection:
            sites = [dict(row) for row in connection.execute(
                select(t.sites.c.site_id, t.sites.c.name, t.sites.c.region, t.sites.c.country)
                .order_by(t.sites.c.name, t.sites.c.site_id)).mappings()]
            names = dict(connection.execute(select(t.organisations.c.org_id, t.organisations.c.name)).all())
            cooperatives = [{"cooperative_id": coop, "name": names.get(coop, coop)} for coop in connection.execute(
                select(t.miners.c.cooperative_id).distinct().order_by(t.miners.c.cooperative_id)).scalars()]
        return {"sites": sites, "cooperatives": cooperatives}

    def latest_month(self) -> str:
        """The latest month with any fact (this month when there is none)."""
        with self.engine.connect() as connection:
            months = union_all(*(select(func.max(column)) for column in (
                t.production_shares.c.month, t.transfers.c.month, t.surveys.c.month, t.vsla_reports.c.period,
                t.trainings.c.month, t.leadership.c.month, t.miners.c.first_month))).subquery()
            latest = connection.execute(select(func.max(months.c[0]))).scalar()
        return latest or date.today().strftime("%Y-%m")

    def default_range(self, first: str | None, last: str | None) -> tuple[str, str]:
        """Fill in a missing end (the latest month with facts, not before the start, at most 10 years
        after it) or start (24 months before the end)."""
        if last is None:
            latest = self.latest_month()
            last = latest if first is None else min(max(latest, first), add_months(first, 119))
        if first is None:
            first = add_months(last, -(DEFAULT_MONTHS - 1))
        return first, last

    # -- tables -----------------------------------------------------------------------------
    def cells(self, request: TableRequest, reveal: bool) -> tuple[list[Cell], dict[str, Any]]:
        """The cells of a table (suppressed unless ``reveal``) and notes on what was left out."""
        with self.engine.connect() as connection:
            version = connection.execute(select(tracking.checkpoints.c.position)
                                         .where(tracking.checkpoints.c.projector == "impact")).scalar()
            key = (request, reveal, version)
            with self._lock:
                if key in self._cache:
                    self._cache.move_to_end(key)
                    cells, notes = self._cache[key]
                    return cells, dict(notes)
            facts, notes = load_facts(connection, request)
        periods = Periods.between(request.first, request.last, request.granularity)
        cells = compute(facts, periods, request.by)
        if not reveal:
            cells = suppress(cells)
        else:  # an admin sees every value, each small cell marked as such
            cells = [cell if cell.n >= MIN_CELL else _marked(cell) for cell in cells]
        with self._lock:
            self._cache[key] = (cells, notes)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return cells, dict(notes)

    def table(self, request: TableRequest, reveal: bool) -> dict[str, Any]:
        """A table of indicators as JSON-ready data."""
        cells, notes = self.cells(request, reveal)
        present = sorted({cell.indicator for cell in cells}, key=list(INDICATORS).index)
        return {
            "scope": {"site_id": request.scope.site_id, "cooperative_id": request.scope.cooperative_id,
                      "sites": notes["sites"]},
            "from": request.first,
            "to": request.last,
            "period": request.granularity,
            "by": list(request.by),
            "currency": request.currency,
            "min_cell_size": MIN_CELL,
            "suppression": "none: admin key" if reveal else
                           f"cells computed from fewer than {MIN_CELL} people are suppressed",
            "indicators": {name: {"unit": INDICATORS[name].unit, "description": INDICATORS[name].description}
                           for name in present},
            "notes": {key: value for key, value in notes.items() if key != "sites"},
            "cells": [render(cell, reveal, request.by) for cell in cells],
        }


def _marked(cell: Cell) -> Cell:
    return replace(cell, suppressed=True)


def rows(connection: Connection, statement) -> list[tuple]:
    """All rows of a Core ``statement`` as plain tuples, fetched through the DB-API cursor.

    Tables read tens of thousands of rows whose values need no conversion (text, numbers); going
    past SQLAlchemy's per-row result processing halves the time of a table. Same connection, so
    the same transaction and snapshot.
    """
    compiled = statement.compile(dialect=connection.dialect)
    params = compiled.construct_params()
    if compiled.positional:
        params = tuple(params[name] for name in compiled.positiontup)
    cursor = connection.connection.dbapi_connection.cursor()
    try:
        cursor.execute(str(compiled), params)
        return cursor.fetchall()
    finally:
        cursor.close()


def _money(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def scope_sites(connection: Connection, scope: Scope) -> list[str] | None:
    """The sites whose site-level facts (surveys, groups, trainings) count; None for all of them.

    A cooperative's sites are those where its miners are registered.
    """
    if scope.cooperative_id is None:
        return None if scope.site_id is None else [scope.site_id]
    sites = set(connection.execute(select(t.miners.c.site_id).distinct()
                                   .where(t.miners.c.cooperative_id == scope.cooperative_id)).scalars())
    if scope.site_id is not None:
        sites &= {scope.site_id}
    return sorted(sites)


def _miner_filter(scope: Scope) -> list:
    conditions = []
    if scope.site_id is not None:
        conditions.append(t.miners.c.site_id == scope.site_id)
    if scope.cooperative_id is not None:
        conditions.append(t.miners.c.cooperative_id == scope.cooperative_id)
    return conditions


def _in_sites(column, sites: list[str] | None) -> list:
    return [] if sites is None else [column.in_(sites)]


def load_facts(connection: Connection, request: TableRequest) -> tuple[Facts, dict[str, Any]]:
    """The facts in scope for the months of ``request`` (and registrations up to its end)."""
    scope, first, last, currency = request.scope, request.first, request.last, request.currency
    sites = scope_sites(connection, scope)
    facts = Facts()
    notes: dict[str, Any] = {"sites": sites, "other_currency_excluded": 0}
    m = t.miners.c
    for row in rows(connection, select(m.miner_id, m.gender, m.birth_year, m.work_role, m.first_month)
                    .where(*_miner_filter(scope), m.first_month <= last)):
        facts.miners[row[0]] = Miner._make(row)
    p = t.production_shares.c
    producing = (select().select_from(t.production_shares).join(t.miners, m.miner_id == p.miner_id)
                 .where(*_miner_filter(scope), p.month >= first, p.month <= last))
    facts.productions = list(map(ProductionShare._make, rows(connection, producing.add_columns(
        p.miner_id, p.month, func.sum(p.mass_g)).group_by(p.miner_id, p.month))))
    woman, lead = m.gender == "female", m.work_role == "team_lead"
    facts.teams = list(map(Team._make, rows(connection, producing.add_columns(
        func.min(p.month), func.sum(p.mass_g), func.count(), func.sum(case((woman, 1), else_=0)),
        func.sum(case((lead, 1), else_=0)), func.sum(case((and_(woman, lead), 1), else_=0))
    ).group_by(p.event_id))))
    x = t.transfers.c
    for miner_id, month, mass, price, money in rows(connection,
            select(x.from_id, x.month, x.mass_g, x.price_per_g, x.currency)
            .join_from(t.transfers, t.miners, m.miner_id == x.from_id)
            .where(*_miner_filter(scope), x.month >= first, x.month <= last, x.event_id.not_in(t.refused_events()))):
        if price is not None and money != currency:
            notes["other_currency_excluded"] += 1
            price = None
        facts.sales.append(MinerSale(miner_id, month, mass, _money(price)))
    s = t.surveys.c
    for row in connection.execute(select(s.respondent_id, s.month, s.sort_key, s.gender, s.age_band, s.income_month,
                                         s.controls_own_income, s.savings, s.currency)
                                  .where(*_in_sites(s.site_id, sites), s.month >= first, s.month <= last)):
        if row.currency != currency:
            notes["other_currency_excluded"] += 1
            continue
        facts.surveys.append(Survey(row.respondent_id, row.month, row.sort_key, row.gender, row.age_band,
                                    Decimal(row.income_month), bool(row.controls_own_income), _money(row.savings)))
    v = t.vsla_registrations.c
    facts.vsla_registrations = [VslaRegistration(*row) for row in connection.execute(
        select(v.group_id, v.month, v.sort_key, v.members_female, v.members_male, v.committee_female, v.committee_male)
        .where(*_in_sites(v.site_id, sites), v.month <= last))]
    groups = {registration.group_id for registration in facts.vsla_registrations}
    r = t.vsla_reports.c
    for row in connection.execute(select(r.group_id, r.period, r.sort_key, r.savings, r.loans, r.solidarity_assists,
                                         r.currency).where(r.period >= first, r.period <= last)):
        if row.group_id not in groups:
            continue
        if row.currency != currency:
            notes["other_currency_excluded"] += 1
            continue
        facts.vsla_reports.append(VslaReport(row.group_id, row.period, row.sort_key, Decimal(row.savings),
                                             Decimal(row.loans), row.solidarity_assists))
    g = t.trainings.c
    facts.trainings = [Training(*row) for row in connection.execute(
        select(g.month, g.kind, g.attendees_female, g.attendees_male)
        .where(*_in_sites(g.site_id, sites), g.month >= first, g.month <= last))]
    facts.leadership = list(_leadership_in_scope(connection, scope, sites, groups, last))
    return facts, notes


def _leadership_in_scope(connection: Connection, scope: Scope, sites: list[str] | None, groups: set[str],
                         last: str) -> Iterable[Leadership]:
    """Positions held in scope: at its sites, in its savings groups, or (for a cooperative) in it."""
    c = t.leadership.c
    for row in connection.execute(select(c.person_id, c.gender, c.position, c.organisation_id, c.month, c.sort_key,
                                         c.site_id).where(c.month <= last)):
        if sites is not None:
            inside = row.site_id in sites or row.organisation_id in groups or (
                scope.site_id is None and row.organisation_id == scope.cooperative_id)
            if not inside:
                continue
        yield Leadership(row.person_id, row.gender, row.position, row.organisation_id, row.month, row.sort_key)


__all__ = ["GRANULARITIES", "ImpactView", "PAYOUT_FINDING_KINDS", "PayoutFindings", "PayoutsView", "StatementView", "Scope", "TableRequest", "ValueChainView", "load_facts",
           "months_between", "scope_sites"]
