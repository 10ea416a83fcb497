"""Re-running the rules on the scopes a batch of events touched, and reconciling the stored findings.

Scopes (units of recomputation) and their rules:
- ``lot:ID``: double use, custody break, time order, transit, export permit, unknown transfer parties;
  price below the reference, foreign cooperative, royalties not recorded (``sourcing``);
- ``tx:EVENT``: mass balance and mass gain of a merge, split, refining or manufacturing;
- ``prod:EVENT``: inactive pit and unknown producers of one production; a child at work, a miner without
  photo ID or outside their site, a pit of unknown capacity or not inspected lately (``sourcing``);
- ``pitmonth:MONTH:PIT`` and ``minermonth:MONTH:MINER``: capacity; more miners than inspected (pits);
- ``coopmonth:MONTH:BUYER``: a cooperative's purchases against its pits' capacity (every buyer of
  every lot recomputed is recomputed too);
- ``item:ID``: steps of a lot or piece outside the recorder's rights (``not_holder``, a conflicting
  creation) and a piece's GTIN not owned by its maker;
- ``entity:KIND:ID``: registrations of an organisation, site, pit or miner by another organisation
  than its owner;
- ``flag:ID``: raisings of a flag id that conflict with its first, resolutions by its subject or by
  someone not entitled to resolve it.

Recomputing a scope reads only stored facts, so recomputing one more often than needed is always
correct; the projector just tries not to.
"""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping

from sqlalchemy import Connection, func, select, update

from consumers.authority import FlagClaim, ResolutionClaim
from consumers.checks import authority as authority_rules
from consumers.checks import balance as balance_rules
from consumers.checks import custody, finding_index, pits as pit_rules, sourcing
from consumers.checks import tables as t
from consumers.checks.findings import Finding
from consumers.checks.registry import registry
from consumers.checks.sourcing import SourcingSettings
from consumers.checks.sourcing_store import SourcingStore
from consumers.lineage.graph import moment_of
from consumers.sql import among, insert_ignore, upsert_many


#: scopes whose findings are recomputed and reconciled together (see ``recompute``)
SCOPES_AT_ONCE = 2000


@dataclass
class Pending:
    """What the events applied since the last flush touched."""

    #: lots whose own facts changed: their scope and the transformations that took or made them
    lots: set[str] = field(default_factory=set)
    #: lots whose path changed: the scopes of every lot made from them
    descendants_of: set[str] = field(default_factory=set)
    #: any other scope (``prod:``, ``pitmonth:``, ``minermonth:``, ``tx:``, ``lot:``)
    scopes: set[str] = field(default_factory=set)
    #: of a pit's or a miner's month (its scope), the earliest sort key among the productions the events
    #: added to it: a stored capacity proof that ends before it still holds (see ``FactStore.kept_prefixes``)
    earliest: dict[str, str] = field(default_factory=dict)

    def added(self, scope: str, sort_key: str) -> None:
        """Note a production added to the month of ``scope`` (``pitmonth:`` or ``minermonth:``) at ``sort_key``."""
        self.scopes.add(scope)
        if scope not in self.earliest or sort_key < self.earliest[scope]:
            self.earliest[scope] = sort_key

    def __bool__(self) -> bool:
        return bool(self.lots or self.descendants_of or self.scopes)


@dataclass(frozen=True)
class Tolerances:
    """The tolerances of the mass checks (fractions) and the thresholds of the sourcing checks."""

    mass: float = 0.005
    transit: float = 0.005
    sourcing: SourcingSettings = SourcingSettings()


def recompute(tx: Connection, pending: Pending, tolerances: Tolerances) -> None:
    """Run the rules of every scope ``pending`` names and reconcile their findings."""
    store = SourcingStore(tx)
    by_kind: dict[str, set[str]] = defaultdict(set)
    for scope in pending.scopes:
        kind, _, rest = scope.partition(":")
        by_kind[kind].add(rest)
    by_kind["lot"] |= pending.lots | store.descendants(pending.descendants_of)
    by_kind["tx"] |= store.transformations_of(pending.lots)
    by_kind["coopmonth"] |= {f"{month}:{buyer}" for buyer, month in store.buyer_months(by_kind["lot"])}
    rules: dict[str, Callable[[set[str]], dict[str, list[Finding]]]] = {
        "lot": lambda ids: _lots(store, ids, tolerances),
        "tx": lambda ids: _transformations(tx, store, ids, tolerances),
        "prod": lambda ids: _productions(store, ids, tolerances.sourcing),
        "pitmonth": lambda ids: _pit_months(store, ids, tolerances.sourcing, pending.earliest),
        "coopmonth": lambda ids: _buyer_months(store, ids),
        "minermonth": lambda ids: _miner_months(store, ids, pending.earliest),
        "item": lambda ids: _items(store, ids),
        "entity": lambda ids: _entities(tx, store, ids),
        "flag": lambda ids: _flags(tx, ids),
    }
    # a slice at a time: one batch can touch tens of thousands of scopes (registrations of pits and
    # miners already in use touch every production and lot that names them: 52,000 in the embedded
    # benchmark), and their findings, the stored ones and the rows to write, all held at once, took
    # 250 MB; a scope's findings depend only on stored facts, never on the other scopes recomputed
    # with it, and reconciling reads and writes only the findings of the scopes it is given
    for kind, rule in rules.items():
        for ids in slices(by_kind[kind], SCOPES_AT_ONCE):
            reconcile(tx, rule(ids))


def slices(ids: set[str], size: int) -> Iterator[set[str]]:
    """``ids`` in sorted slices of at most ``size``."""
    ordered = sorted(ids)
    for start in range(0, len(ordered), size):
        yield set(ordered[start:start + size])


def _items(store: SourcingStore, item_ids: set[str]) -> dict[str, list[Finding]]:
    if not item_ids:
        return {}
    refusals = store.refusals(item_ids)
    results = {f"item:{item_id}": authority_rules.refused_steps(refusals.get(item_id, [])) for item_id in item_ids}
    for piece in store.pieces(item_ids):
        results[f"item:{piece.product_id}"] += authority_rules.gtin_not_owned(piece)
    return results


def _entities(tx: Connection, store: SourcingStore, keys: set[str]) -> dict[str, list[Finding]]:
    if not keys:
        return {}
    entities = {tuple(key.split(":", 1)) for key in keys}
    results: dict[str, list[Finding]] = {f"entity:{key}": [] for key in keys}
    ledger = registry()
    # an entity claimed once has no conflicting claim: only those claimed more than once need their verdict
    c = ledger.claims.c
    contested = {(kind, entity_id) for kind, entity_id in tx.execute(
        select(c.entity_kind, c.entity_id)
        .where(among(c.entity_kind, {kind for kind, _ in entities}), among(c.entity_id, {e for _, e in entities}))
        .group_by(c.entity_kind, c.entity_id).having(func.count() > 1))}
    for entry in ledger.verdicts(tx, entities & contested):
        if not entry.conflicting:
            continue
        organisation_of = dict(tx.execute(select(ledger.claims.c.event_id, ledger.claims.c.organisation).where(
            ledger.claims.c.event_id.in_(list(entry.conflicting)))).all())
        results[f"entity:{entry.kind}:{entry.entity_id}"] = authority_rules.conflicting_registrations(
            entry, organisation_of, store.lots_from(entry.kind, entry.entity_id))
    return results


def _flags(tx: Connection, flag_ids: set[str]) -> dict[str, list[Finding]]:
    """Raisings of a flag id that conflict with its first, and resolutions that may not close it."""
    if not flag_ids:
        return {}
    raisings: dict[str, list[FlagClaim]] = defaultdict(list)
    resolutions: dict[str, list[ResolutionClaim]] = defaultdict(list)
    r, s = t.flag_raisings.c, t.flag_resolutions.c
    for row in tx.execute(select(t.flag_raisings).where(among(r.flag_id, flag_ids))).mappings():
        raisings[row["flag_id"]].append(FlagClaim(row["event_id"], row["raised_by"], row["subject_id"],
                                                  row["recorded_at"], moment_of(row["sort_key"])))
    for row in tx.execute(select(t.flag_resolutions).where(among(s.flag_id, flag_ids))).mappings():
        resolutions[row["flag_id"]].append(ResolutionClaim(row["event_id"], row["recorded_by"],
                                                           row["attested_role"], moment_of(row["sort_key"])))
    return {f"flag:{flag_id}": authority_rules.flag_findings(flag_id, raisings[flag_id], resolutions[flag_id])
            for flag_id in flag_ids}


def _lots(store: SourcingStore, lot_ids: set[str], tolerances: Tolerances) -> dict[str, list[Finding]]:
    if not lot_ids:
        return {}
    lots = store.lots(lot_ids)
    parties = {p for lot in lots.values() for x in lot.transfers for p in (x.from_id, x.to_id)}
    registered = store.registered(parties)
    countries = store.countries(parties)
    sourced = sourcing.lots(store, lots, tolerances.sourcing)
    return {
        f"lot:{lot_id}": custody.check_lot(
            lot, mass_tolerance=tolerances.mass, transit_tolerance=tolerances.transit, countries=countries,
            is_registered=registered.__contains__, permits_on_path=lambda lot_id=lot_id: store.permits_on_path(lot_id),
        ) + sourced[lot_id]
        for lot_id, lot in lots.items()
    }


def _transformations(tx: Connection, store: SourcingStore, event_ids: set[str], tolerances: Tolerances):
    if not event_ids:
        return {}
    found = store.transformations(event_ids)
    results = {f"tx:{event_id}": [] for event_id in event_ids}
    rows = []
    for event_id, transformation in found.items():
        result = balance_rules.mass_balance(transformation)
        rows.append({"event_id": event_id, "type": result.type, "recorded_by": result.recorded_by,
                     "input_g": result.input_g, "output_g": result.output_g, "fine_in_g": result.fine_in_g,
                     "fine_out_g": result.fine_out_g, "basis": result.basis, "recovery": result.recovery})
        results[f"tx:{event_id}"] = balance_rules.mass_gain(transformation, result, tolerances.mass)
    upsert_many(tx, t.balances, rows, update=[name for name in rows[0] if name != "event_id"] if rows else [])
    return results


def _productions(store: SourcingStore, event_ids: set[str], settings: SourcingSettings) -> dict[str, list[Finding]]:
    if not event_ids:
        return {}
    productions = store.productions(event_ids)
    inspections = store.inspections({p.pit_id for p in productions.values()})
    capacities = store.capacities({p.pit_id for p in productions.values()})
    miners = store.miner_facts({m for p in productions.values() for m in p.miner_ids})
    pits = store.pit_facts({p.pit_id for p in productions.values()})
    sourced = sourcing.productions(productions, miners, pits, inspections, capacities, settings)
    results = {f"prod:{event_id}": [] for event_id in event_ids}
    for event_id, production in productions.items():
        results[f"prod:{event_id}"] = (
            pit_rules.inactive_pit(production, inspections.get(production.pit_id, []))
            + pit_rules.unknown_producers(production, miners.__contains__, production.pit_id in pits)
            + sourced[event_id])
    return results


def _buyer_months(store: SourcingStore, keys: set[str]) -> dict[str, list[Finding]]:
    if not keys:
        return {}
    pairs = {key: tuple(reversed(key.split(":", 1))) for key in keys}  # month:buyer -> (buyer, month)
    found = sourcing.buyer_months(store, set(pairs.values()))
    return {f"coopmonth:{key}": found[pair] for key, pair in pairs.items()}


def _pit_months(store: SourcingStore, keys: set[str], settings: SourcingSettings,
                earliest: Mapping[str, str]) -> dict[str, list[Finding]]:
    if not keys:
        return {}
    pairs = {key: tuple(reversed(key.split(":", 1))) for key in keys}  # month:pit -> (pit, month)
    totals = store.pit_month_totals(pairs.values())
    capacities = store.capacities(pit for pit, _ in pairs.values())
    limits = {}
    for pair, total in totals.items():
        limit = pit_rules.pit_limit(total, capacities.get(pair[0], []))
        if limit is not None:
            limits[pair] = (limit.capacity_g, (limit.event_id,))
    prefixes = _prefixes(store, "pit", limits, earliest)
    workers = sourcing.pit_months(store, set(pairs.values()), settings)
    return {
        f"pitmonth:{key}": ([] if (pit, month) not in totals else pit_rules.pit_over_capacity(
            totals[(pit, month)], capacities.get(pit, []), lambda _cap, pair=(pit, month): prefixes[pair]))
        + workers.get((pit, month), [])
        for key, (pit, month) in pairs.items()
    }


def _miner_months(store: SourcingStore, keys: set[str], earliest: Mapping[str, str]) -> dict[str, list[Finding]]:
    if not keys:
        return {}
    pairs = {key: tuple(reversed(key.split(":", 1))) for key in keys}  # month:miner -> (miner, month)
    totals = store.miner_month_totals(pairs.values())
    capacities = store.capacities({t.pit_id for rows in totals.values() for t in rows})
    limits = {}
    for (miner, month), by_pit in totals.items():
        limit = pit_rules.miner_limit(month, by_pit, capacities)
        if limit is not None:
            stated = sorted({pit_rules.capacity_in(month, capacities.get(t.pit_id, ())).event_id for t in by_pit})
            limits[(miner, month)] = (limit.capacity_g, tuple(stated))
    prefixes = _prefixes(store, "miner", limits, earliest)
    return {
        f"minermonth:{key}": pit_rules.miner_over_capacity(
            miner, month, totals.get((miner, month), []), capacities,
            lambda _cap, pair=(miner, month): prefixes[pair])
        for key, (miner, month) in pairs.items()
    }


def _prefixes(store: SourcingStore, kind: str, limits: Mapping[tuple[str, str], tuple[float, tuple[str, ...]]],
              earliest: Mapping[str, str]) -> dict[tuple[str, str], list[str]]:
    """The capacity proof of each (pit or miner, month) over its limit (limit -> capacity events in the
    proof): kept from the stored finding where it still holds, else read again (``FactStore.month_prefixes``)."""
    kept = store.kept_prefixes(kind, {pair: stated for pair, (_grams, stated) in limits.items()},
                               {pair: earliest[f"{kind}month:{pair[1]}:{pair[0]}"] for pair in limits
                                if f"{kind}month:{pair[1]}:{pair[0]}" in earliest})
    read = store.month_prefixes(kind, {pair: grams for pair, (grams, _stated) in limits.items() if pair not in kept})
    return {**kept, **read}


def _row(finding_id: str, scope: str, finding: Finding, at: str | None) -> dict[str, Any]:
    return {"at": at,
        "finding_id": finding_id, "scope": scope, "kind": finding.kind, "subject_id": finding.subject_id,
        "key": finding.key, "severity": finding.severity, "status": "open", "message": finding.message,
        "proof": json.dumps(list(finding.proof)), "detail": json.dumps(dict(finding.detail), sort_keys=True),
    }


def reconcile(tx: Connection, results: dict[str, list[Finding]]) -> None:
    """Make the stored findings of each scope match ``results``: new or changed ones open, vanished ones withdrawn.

    Only what changed is written: a finding's proof rows and time when its proof changed, its links when
    they changed (a finding over a month is recomputed by every batch of that month, its proof rarely moves).
    """
    existing: dict[str, dict[str, Any]] = {row["finding_id"]: dict(row) for row in tx.execute(
        select(t.findings).where(among(t.findings.c.scope, results))).mappings()} if results else {}
    wanted: dict[str, tuple[str, Finding]] = {}
    for scope, findings in results.items():
        for finding in findings:
            wanted[finding.finding_id] = (scope, finding)
    # a finding first stored by another scope is rewritten here: its proof rows and links are replaced
    # like those of this scope's own (a finding stored nowhere has none to delete)
    elsewhere = [finding_id for finding_id in wanted if finding_id not in existing]
    if elsewhere:
        existing.update((row["finding_id"], dict(row)) for row in tx.execute(
            select(t.findings).where(among(t.findings.c.finding_id, elsewhere))).mappings())
    links: dict[str, set[str]] = defaultdict(set)  # a finding's lots may change while its text does not
    linked = [finding_id for finding_id in existing if finding_id in wanted]
    for finding_id, node_id in tx.execute(select(t.finding_links.c.finding_id, t.finding_links.c.node_id)
                                          .where(among(t.finding_links.c.finding_id, linked))) if linked else ():
        links[finding_id].add(node_id)
    rows = {finding_id: _row(finding_id, scope, finding, None) for finding_id, (scope, finding) in wanted.items()}
    # the stored proof rows and time follow the stored proof: rewritten only where the proof moved
    moved = {finding_id for finding_id, row in rows.items()
             if finding_id not in existing or existing[finding_id]["proof"] != row["proof"]}
    moments = finding_index.latest_moments(tx, {finding_id: wanted[finding_id][1].proof for finding_id in moved})
    for finding_id, row in rows.items():
        row["at"] = moments[finding_id] if finding_id in moved else existing[finding_id]["at"]
    changed = [row for finding_id, row in rows.items() if existing.get(finding_id) != row]
    relinked = [finding_id for finding_id, (_, finding) in wanted.items() if links.get(finding_id, set()) != set(finding.links)]
    upsert_many(tx, t.findings, changed, update=[column.name for column in t.findings.columns if column.name != "finding_id"])
    stale_links = [finding_id for finding_id in relinked if finding_id in existing]
    if stale_links:
        tx.execute(t.finding_links.delete().where(among(t.finding_links.c.finding_id, stale_links)))
    insert_ignore(tx, t.finding_links, ({"node_id": node, "finding_id": finding_id}
                                        for finding_id in relinked for node in wanted[finding_id][1].links))
    finding_index.write_proofs(tx, {finding_id: wanted[finding_id][1].proof for finding_id in moved},
                               replacing=[finding_id for finding_id in moved if finding_id in existing])
    gone = [finding_id for finding_id, row in existing.items() if finding_id not in wanted and row["status"] == "open"]
    if gone:
        tx.execute(update(t.findings).where(among(t.findings.c.finding_id, gone)).values(status="withdrawn"))
