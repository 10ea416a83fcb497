"""The checks projector: records the facts each event states, then re-runs the rules on what it touched.

Order tolerance: the rules read only the stored facts (never the arrival order), and every fact
that can change a rule's answer touches the units (scopes) that rule runs on. A finding raised
while data was missing is withdrawn when the data arrives and clears it; one that needs data not
yet seen appears when that data arrives. So the open findings are the same for any arrival order.

Scopes (units of recomputation) and their rules:
- ``lot:ID``: double use, custody break, time order, transit, export permit, unknown transfer parties;
- ``tx:EVENT``: mass balance and mass gain of a merge, split, refining or manufacturing;
- ``prod:EVENT``: inactive pit and unknown producers of one production;
- ``pitmonth:MONTH:PIT`` and ``minermonth:MONTH:MINER``: capacity.
"""
from __future__ import annotations

import json
from typing import Any, Callable

from sqlalchemy import Connection, MetaData, select, update

from consumers.checks import balance as balance_rules
from consumers.checks import custody, pits as pit_rules
from consumers.checks import tables as t
from consumers.checks.findings import Finding
from consumers.checks.store import FactStore
from consumers.projector import Projector
from consumers.provenance.projector import sort_key
from consumers.sql import insert_ignore, upsert
from events.fields import parse_timestamp
from events.log import RecordedEvent


def month_of(occurred_at: str) -> str:
    """The calendar month (``YYYY-MM``) of a field time, in the field's own time zone."""
    return parse_timestamp(occurred_at).strftime("%Y-%m")


class ChecksProjector(Projector):
    """Spots the liar: custody, mass-balance and production checks as findings with their proof."""

    name = "checks"
    version = 1
    handles = frozenset({
        "organization.registered", "pit.registered", "miner.registered", "pit.inspected",
        "production.recorded", "lot.transferred", "lot.received", "lots.merged", "lot.split",
        "lot.assayed", "lot.exported", "lot.refined", "product.manufactured",
    })

    def __init__(self, mass_tolerance: float = 0.005, transit_tolerance: float = 0.005):
        self.mass_tolerance = mass_tolerance
        self.transit_tolerance = transit_tolerance

    @property
    def metadata(self) -> MetaData:
        """The ``chk_*`` tables."""
        return t.metadata

    def apply(self, tx: Connection, event: RecordedEvent) -> None:
        """Store the facts of ``event`` and recompute the findings of every scope it touches."""
        if tx.execute(select(t.events.c.event_id).where(t.events.c.event_id == event.event_id)).first() is not None:
            return
        envelope = event.envelope
        key = sort_key(envelope["occurred_at"], event.event_id)
        tx.execute(t.events.insert().values(event_id=event.event_id, type=event.type, sort_key=key))
        store = FactStore(tx)
        handler: Callable[..., set[str]] = getattr(self, "_" + event.type.replace(".", "_"))
        scopes = handler(tx, store, event.event_id, envelope, envelope["data"], key)
        for scope in sorted(scopes):
            self.recompute(tx, store, scope)

    # -- what an event touches --------------------------------------------------------------
    @staticmethod
    def _lot_touched(store: FactStore, lot_id: str) -> set[str]:
        """A lot's own scope and the transformations that took it in or made it."""
        return {f"lot:{lot_id}", *(f"tx:{e}" for e in store.consumers_of(lot_id)),
                *(f"tx:{e}" for e in store.makers_of(lot_id))}

    def _transformation(self, tx, store, event_id, envelope, key, inputs, outputs) -> set[str]:
        """Record a transformation's inputs (consumed) and outputs (created)."""
        common = {"event_id": event_id, "type": envelope["type"], "sort_key": key, "recorded_by": envelope["recorded_by"]}
        insert_ignore(tx, t.consumptions, ({**common, "lot_id": lot, "mass_g": mass} for lot, mass in inputs))
        insert_ignore(tx, t.creations, ({**common, "lot_id": lot, "mass_g": mass, "fineness": fineness}
                                        for lot, mass, fineness in outputs))
        scopes = {f"tx:{event_id}"}
        outs = [lot for lot, _, _ in outputs]
        for lot in [lot for lot, _ in inputs] + outs:
            scopes |= self._lot_touched(store, lot)
        # lots made earlier from these outputs now have a longer path (export permits on it)
        scopes |= {f"lot:{lot}" for lot in store.descendants(outs)}
        return scopes

    # -- registry ---------------------------------------------------------------------------
    def _organization_registered(self, tx, store, event_id, envelope, data, key):
        upsert(tx, t.organisations, {"org_id": data["org_id"], "name": data["name"], "role": data["role"],
                                     "country": data["country"], "event_id": event_id},
               update=("name", "role", "country", "event_id"))
        return {f"lot:{lot}" for lot in store.lots_transferred_with(data["org_id"])}

    def _miner_registered(self, tx, store, event_id, envelope, data, key):
        upsert(tx, t.miners, {"miner_id": data["miner_id"], "cooperative_id": data["cooperative_id"],
                              "site_id": data["site_id"], "event_id": event_id},
               update=("cooperative_id", "site_id", "event_id"))
        return ({f"prod:{e}" for e in store.production_ids_by(data["miner_id"])}
                | {f"lot:{lot}" for lot in store.lots_transferred_with(data["miner_id"])})

    def _capacity_scopes(self, store: FactStore, pit_id: str) -> set[str]:
        return ({f"pitmonth:{month}:{pit_id}" for month in store.months_at(pit_id)}
                | {f"minermonth:{month}:{miner}" for miner, month in store.miner_months_at(pit_id)})

    def _pit_registered(self, tx, store, event_id, envelope, data, key):
        upsert(tx, t.pits, {"pit_id": data["pit_id"], "site_id": data["site_id"], "event_id": event_id},
               update=("site_id", "event_id"))
        scopes = {f"prod:{e}" for e in store.production_ids_at(data["pit_id"])}
        if data.get("capacity_g_per_month") is not None:
            self._capacity(tx, event_id, envelope, data, key)
            scopes |= self._capacity_scopes(store, data["pit_id"])
        return scopes

    @staticmethod
    def _capacity(tx, event_id, envelope, data, key):
        insert_ignore(tx, t.capacities, [{"event_id": event_id, "pit_id": data["pit_id"], "sort_key": key,
                                          "month": month_of(envelope["occurred_at"]),
                                          "capacity_g": data["capacity_g_per_month"]}])

    def _pit_inspected(self, tx, store, event_id, envelope, data, key):
        insert_ignore(tx, t.inspections, [{"event_id": event_id, "pit_id": data["pit_id"], "sort_key": key,
                                           "status": data["status"]}])
        scopes = {f"prod:{e}" for e in store.productions_after(data["pit_id"], key)}
        if data.get("capacity_g_per_month") is not None:
            self._capacity(tx, event_id, envelope, data, key)
            scopes |= self._capacity_scopes(store, data["pit_id"])
        return scopes

    # -- custody ----------------------------------------------------------------------------
    def _production_recorded(self, tx, store, event_id, envelope, data, key):
        month = month_of(envelope["occurred_at"])
        insert_ignore(tx, t.productions, [{"event_id": event_id, "lot_id": data["lot_id"], "pit_id": data["pit_id"],
                                           "mass_g": data["mass_g"], "month": month, "sort_key": key}])
        insert_ignore(tx, t.production_miners, ({"event_id": event_id, "miner_id": m, "month": month}
                                                for m in data["miner_ids"]))
        insert_ignore(tx, t.creations, [{"event_id": event_id, "lot_id": data["lot_id"], "type": envelope["type"],
                                         "sort_key": key, "recorded_by": envelope["recorded_by"],
                                         "mass_g": data["mass_g"], "fineness": data.get("fineness")}])
        return ({f"prod:{event_id}", f"pitmonth:{month}:{data['pit_id']}"}
                | {f"minermonth:{month}:{m}" for m in data["miner_ids"]}
                | self._lot_touched(store, data["lot_id"]))

    def _lot_transferred(self, tx, store, event_id, envelope, data, key):
        insert_ignore(tx, t.transfers, [{"event_id": event_id, "lot_id": data["lot_id"], "from_id": data["from_id"],
                                         "to_id": data["to_id"], "mass_g": data["mass_g"], "sort_key": key}])
        return self._lot_touched(store, data["lot_id"])

    def _lot_received(self, tx, store, event_id, envelope, data, key):
        insert_ignore(tx, t.receipts, [{"event_id": event_id, "lot_id": data["lot_id"], "mass_g": data["mass_g"],
                                        "recorded_by": envelope["recorded_by"], "sort_key": key}])
        return self._lot_touched(store, data["lot_id"])

    def _lot_assayed(self, tx, store, event_id, envelope, data, key):
        insert_ignore(tx, t.lot_stamps, [{"event_id": event_id, "lot_id": data["lot_id"], "type": envelope["type"],
                                          "sort_key": key, "fineness": data["fineness"]}])
        return self._lot_touched(store, data["lot_id"])

    def _lot_exported(self, tx, store, event_id, envelope, data, key):
        insert_ignore(tx, t.lot_stamps, [{"event_id": event_id, "lot_id": data["lot_id"], "type": envelope["type"],
                                          "sort_key": key, "fineness": None}])
        return {f"lot:{lot}" for lot in {data["lot_id"], *store.descendants([data["lot_id"]])}}

    def _lots_merged(self, tx, store, event_id, envelope, data, key):
        inputs = [(i["lot_id"], i["mass_g"]) for i in data["inputs"]]
        return self._transformation(tx, store, event_id, envelope, key, inputs,
                                    [(data["lot_id"], round(sum(m for _, m in inputs), 6), None)])

    def _lot_split(self, tx, store, event_id, envelope, data, key):
        outputs = [(o["lot_id"], o["mass_g"], None) for o in data["outputs"]]
        return self._transformation(tx, store, event_id, envelope, key,
                                    [(data["lot_id"], round(sum(m for _, m, _ in outputs), 6))], outputs)

    def _lot_refined(self, tx, store, event_id, envelope, data, key):
        return self._transformation(tx, store, event_id, envelope, key,
                                    [(i["lot_id"], i["mass_g"]) for i in data["inputs"]],
                                    [(o["lot_id"], o["mass_g"], o["fineness"]) for o in data["outputs"]])

    def _product_manufactured(self, tx, store, event_id, envelope, data, key):
        return self._transformation(tx, store, event_id, envelope, key,
                                    [(i["lot_id"], i["mass_g"]) for i in data["inputs"]],
                                    [(data["product_id"], data["mass_g"], data["fineness"])])

    # -- recomputation ----------------------------------------------------------------------
    def recompute(self, tx: Connection, store: FactStore, scope: str) -> None:
        """Run the rules of one scope on its current facts and reconcile its findings."""
        kind, _, rest = scope.partition(":")
        findings: list[Finding]
        if kind == "lot":
            findings = self._check_lot(store, rest)
        elif kind == "tx":
            findings = self._check_transformation(tx, store, rest)
        elif kind == "prod":
            production = store.production(rest)
            findings = [] if production is None else (
                pit_rules.inactive_pit(production, store.inspections_before(production.pit_id, production.sort_key))
                + pit_rules.unknown_producers(production, store.registered_miners(production.miner_ids).__contains__,
                                              store.pit_registered(production.pit_id)))
        elif kind == "pitmonth":
            month, _, pit_id = rest.partition(":")
            findings = pit_rules.pit_over_capacity(pit_id, month, store.productions_at(pit_id, month),
                                                   store.capacities([pit_id]).get(pit_id, []))
        elif kind == "minermonth":
            month, _, miner_id = rest.partition(":")
            produced = store.productions_by(miner_id, month)
            findings = pit_rules.miner_over_capacity(miner_id, month, produced,
                                                     store.capacities(p.pit_id for p in produced))
        else:  # pragma: no cover - scopes are made above
            raise ValueError(f"unknown scope {scope!r}")
        reconcile(tx, scope, findings)

    def _check_lot(self, store: FactStore, lot_id: str) -> list[Finding]:
        lot = store.lot(lot_id)
        parties = {p for x in lot.transfers for p in (x.from_id, x.to_id)}
        registered = store.registered(parties)
        return custody.check_lot(
            lot, mass_tolerance=self.mass_tolerance, transit_tolerance=self.transit_tolerance,
            countries=store.countries(parties), is_registered=registered.__contains__,
            permits_on_path=lambda: store.permits_on_path(lot_id),
        )

    def _check_transformation(self, tx: Connection, store: FactStore, event_id: str) -> list[Finding]:
        transformation = store.transformation(event_id)
        if transformation is None:
            return []
        result = balance_rules.mass_balance(transformation)
        upsert(tx, t.balances, {
            "event_id": event_id, "type": result.type, "recorded_by": result.recorded_by,
            "input_g": result.input_g, "output_g": result.output_g, "fine_in_g": result.fine_in_g,
            "fine_out_g": result.fine_out_g, "basis": result.basis, "recovery": result.recovery,
        }, update=("input_g", "output_g", "fine_in_g", "fine_out_g", "basis", "recovery"))
        return balance_rules.mass_gain(transformation, result, self.mass_tolerance)


def _row(scope: str, finding: Finding) -> dict[str, Any]:
    return {
        "finding_id": finding.finding_id, "scope": scope, "kind": finding.kind, "subject_id": finding.subject_id,
        "key": finding.key, "severity": finding.severity, "status": "open", "message": finding.message,
        "proof": json.dumps(list(finding.proof)), "detail": json.dumps(dict(finding.detail), sort_keys=True),
    }


def reconcile(tx: Connection, scope: str, findings: list[Finding]) -> None:
    """Make the stored findings of ``scope`` match ``findings``: new or changed ones open, vanished ones withdrawn."""
    existing = {row["finding_id"]: dict(row) for row in tx.execute(
        select(t.findings).where(t.findings.c.scope == scope)).mappings()}
    wanted = {finding.finding_id: finding for finding in findings}
    for finding_id, finding in wanted.items():
        row = _row(scope, finding)
        if existing.get(finding_id) == row:
            continue
        upsert(tx, t.findings, row, update=[name for name in row if name != "finding_id"])
        tx.execute(t.finding_links.delete().where(t.finding_links.c.finding_id == finding_id))
        insert_ignore(tx, t.finding_links, ({"node_id": node, "finding_id": finding_id} for node in finding.links))
    gone = [finding_id for finding_id, row in existing.items() if finding_id not in wanted and row["status"] == "open"]
    if gone:
        tx.execute(update(t.findings).where(t.findings.c.finding_id.in_(gone)).values(status="withdrawn"))
