"""The sourcing checks of each scope: who dug the gold, at which pit, for whom and at what price.

Called by ``recompute`` beside the custody and mass checks of the same scopes:
- ``lot:ID``: price below the reference, a foreign cooperative, royalties not recorded;
- ``prod:EVENT``: a child at work, a miner without photo ID, a miner outside their site, a pit of
  unknown capacity or not inspected lately;
- ``pitmonth:MONTH:PIT``: more miners than the pit's inspection saw;
- ``coopmonth:MONTH:BUYER``: a cooperative buying more than its pits can give.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Iterable, Mapping

from consumers.checks import miners as miner_rules
from consumers.checks import pits as pit_rules
from consumers.checks import trade
from consumers.checks.facts import Capacity, Inspection, LotFacts, Miner, Pit, Production
from consumers.checks.findings import Finding
from consumers.checks.sourcing_store import SourcingStore


@dataclass(frozen=True)
class SourcingSettings:
    """The thresholds of the sourcing checks."""

    #: a purchase below this share of the reference price (per gram of fine gold) is a finding
    price_floor: Decimal = Decimal("0.7")
    #: production at a pit with no inspection within this many days is a finding
    inspection_max_age_days: int = 365
    #: how many more miners than an inspection saw (a fraction) a pit's month may name
    workers_tolerance: float = 0.2


def lots(store: SourcingStore, facts: Mapping[str, LotFacts], settings: SourcingSettings) -> dict[str, list[Finding]]:
    """The sourcing findings of each lot: its prices, its first buyer and recorder, its exports' royalties."""
    priced = [x for lot in facts.values() for x in lot.transfers if x.price_per_g is not None and x.currency]
    fineness = store.fineness_stated({x.lot_id for x in priced}) if priced else {}
    prices, price_events = store.reference_prices({x.currency for x in priced}) if priced else (None, {})
    produced = {lot_id: lot.creation for lot_id, lot in facts.items()
                if lot.creation is not None and lot.creation.type == "production.recorded"}
    miners = store.miner_facts({m for c in produced.values() for m in c.miner_ids}) if produced else {}
    parties = {c.recorded_by for c in produced.values()} | {x.to_id for lot_id in produced for x in facts[lot_id].transfers}
    roles = store.roles(parties) if parties else {}
    found: dict[str, list[Finding]] = {}
    for lot_id, lot in facts.items():
        findings = trade.royalties_unrecorded(lot_id, lot.others)
        for transfer in lot.transfers:
            if transfer.price_per_g is not None and prices is not None:
                findings += trade.price_below_reference(transfer, fineness.get(lot_id), prices, price_events,
                                                        settings.price_floor)
        if lot_id in produced:
            findings += miner_rules.foreign_cooperative(produced[lot_id], lot.transfers, miners, roles)
        found[lot_id] = findings
    return found


def productions(found: Mapping[str, Production], miners: Mapping[str, Miner], pits: Mapping[str, Pit],
                inspections: Mapping[str, list[Inspection]], capacities: Mapping[str, list[Capacity]],
                settings: SourcingSettings) -> dict[str, list[Finding]]:
    """The sourcing findings of each production: its miners (age, photo ID, site) and its pit (capacity, inspection)."""
    results = {}
    for event_id, production in found.items():
        pit = pits.get(production.pit_id)
        results[event_id] = (
            miner_rules.child_labour(production, miners) + miner_rules.unverified(production, miners)
            + miner_rules.outside_site(production, miners, pit)
            + pit_rules.capacity_unknown(production, pit, capacities.get(production.pit_id, []))
            + pit_rules.stale_inspection(production, pit, inspections.get(production.pit_id, []),
                                         settings.inspection_max_age_days))
    return results


def pit_months(store: SourcingStore, pairs: Iterable[tuple[str, str]], settings: SourcingSettings
               ) -> dict[tuple[str, str], list[Finding]]:
    """Workers mismatches of each (pit, month), for the pits whose inspections counted workers."""
    counting = store.pits_counting_workers({pit for pit, _ in pairs})
    wanted = [(pit, month) for pit, month in pairs if pit in counting]
    if not wanted:
        return {}
    inspections = store.inspections({pit for pit, _ in wanted})
    heads = store.distinct_miners(wanted)
    over = {}
    for pit, month in wanted:
        inspection = pit_rules.observed_in(month, inspections.get(pit, []))
        if inspection is not None and heads.get((pit, month), 0) > pit_rules.workers_limit(
                inspection.workers_observed, settings.workers_tolerance):
            over[(pit, month)] = inspection
    firsts = store.first_productions(over) if over else {}
    return {pair: pit_rules.workers_mismatch(pair[0], pair[1], firsts.get(pair, []), over.get(pair),
                                             settings.workers_tolerance) for pair in wanted}


def buyer_months(store: SourcingStore, pairs: set[tuple[str, str]]) -> dict[tuple[str, str], list[Finding]]:
    """Cooperatives buying more production in a month than its pits can give."""
    roles = store.roles({buyer for buyer, _ in pairs})
    cooperatives = {(buyer, month) for buyer, month in pairs if roles.get(buyer) == "cooperative"}
    results: dict[tuple[str, str], list[Finding]] = {pair: [] for pair in pairs}
    if not cooperatives:
        return results
    bought = store.purchase_totals(cooperatives)
    capacities = store.capacities({pit for by_pit in bought.values() for pit in by_pit})
    for buyer, month in cooperatives:
        results[(buyer, month)] = trade.cooperative_over_capacity(
            buyer, month, bought.get((buyer, month), {}), capacities,
            lambda pits, limit, buyer=buyer, month=month: store.purchase_prefix(buyer, month, pits, limit))
    return results
