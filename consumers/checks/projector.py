"""The checks projector: records the facts each event states; re-runs the rules on what a batch touched.

Order tolerance: the rules read only the stored facts (never the arrival order), and every fact
that can change a rule's answer touches the scopes that rule runs on (see ``recompute``). A finding
raised while data was missing is withdrawn when the data arrives and clears it; one that needs data
not yet seen appears when that data arrives. So the open findings are the same for any arrival order.

Recording an event stores its facts and notes the scopes they touch; ``apply_batch`` records a whole
batch, then recomputes from the stored claims who may say what (custody refusals, registry owners:
``consumers.lineage``), then every touched scope once, with a few queries per batch (``apply`` does
the same for one event: the result is the same, as the scopes are recomputed from the stored facts).
"""
from __future__ import annotations

import json
from typing import Callable, Sequence

from sqlalchemy import Connection, MetaData

from consumers.batch import BatchWrites, PerThread, unseen_events
from consumers.checks import tables as t
from consumers.checks.facts import month_of
from consumers.checks.recompute import Pending, Tolerances, recompute
from consumers.checks.registry import registry
from consumers.checks.sourcing import SourcingSettings
from consumers.checks.sourcing_store import SourcingStore
from consumers.lineage.custody import CustodyLedger, attested_role
from consumers.lineage.graph import REFINING, LineageFacts, lineage_facts
from consumers.lineage.ownership import RegistryLedger
from consumers.lineage.retracted import gather_retracted
from consumers.projector import Projector
from consumers.retractions import RETRACTION, attester_of
from services.personal_data import PersonalData
from events.catalogue.diligence import inspection_flag_id, inspection_risks
from events.log import RecordedEvent


class ChecksProjector(Projector):
    """Spots the liar: custody, mass-balance and production checks as findings with their proof."""

    name = "checks"
    #: 2: who may say what (custody refusals, registry owners, GTIN owners); 3: who may raise and resolve a
    #: flag; 4: a retracted creation or registration still holds its id for its author; 5: a back-dated
    #: double hand-over is refused; 6: a receipt counts only from the lot's holder; 7: an assay counts only
    #: from the lot's holder or an independent party (an authority's or auditor's key); 8: a finding's time,
    #: its proof as rows and who recorded each event (the filters of ``/v1/findings``); 9: the sourcing checks
    #: (child labour, prices, foreign cooperatives, pits outside a site, unverified miners, capacities and
    #: inspections, head counts, cooperatives over capacity, royalties); 10: birth years opened from their seal
    #: 11: steps sent in one batch are never a back-dated double hand-over of one another (field time decides)
    #: 12: month totals kept as productions are written; a miner's productions in field-time order (index);
    #: a transfer's milligrams rounded once in Python (SQLite and PostgreSQL rounded halves differently)
    #: 13: a miner's over-capacity finding and an unregistered pit's ``unknown_actor`` keyed apart from those
    #: of a pit or a miner bearing the same id (they shared a finding id: one replaced the other); a pit's
    #: capacity only from its inspections and its owner's registrations; a production an exporter records for
    #: another cooperative's miner is a ``foreign_cooperative``; a manufacturing with an input of unknown fineness
    #: held to the most its inputs could hold; retractions and retracted hand-overs and makings kept
    #: (``retracted_after_use``)
    version = 13
    handles = frozenset({
        "organization.registered", "site.registered", "pit.registered", "miner.registered", "pit.inspected",
        "production.recorded", "lot.transferred", "lot.received", "lots.merged", "lot.split",
        "lot.assayed", "lot.exported", "lot.refined", "product.manufactured", "product.sold",
        "risk.flagged", "risk.resolved", "market.price_recorded", RETRACTION,
    })

    #: the scopes to recompute, and the items, registry entities and pits produced at the batch being applied touched
    #: (per thread: a rebuild beside the live tables may share this projector; see ``PerThread``)
    _pending = PerThread()
    _items = PerThread()
    _entities = PerThread()
    _production_pits = PerThread()

    def __init__(self, mass_tolerance: float = 0.005, transit_tolerance: float = 0.005,
                 sourcing: SourcingSettings | None = None, personal: PersonalData | None = None):
        """``personal`` opens the birth years sealed at capture (the child-labour check needs them)."""
        self.tolerances = Tolerances(mass_tolerance, transit_tolerance, sourcing or SourcingSettings())
        self.personal = personal
        self._pending, self._items, self._entities, self._production_pits = Pending(), set(), set(), set()

    @property
    def metadata(self) -> MetaData:
        """The ``chk_*`` tables."""
        return t.metadata

    def apply(self, tx: Connection, event: RecordedEvent) -> None:
        """Store the facts of ``event`` and recompute the findings of what it touched."""
        self.apply_batch(tx, [event])

    def apply_batch(self, tx: Connection, events: Sequence[RecordedEvent]) -> None:
        """Store the facts of every new event in a few statements per table, then recompute the
        findings of every scope they touched, once.

        The scopes an event touches through facts already stored (a registration touching the lots
        of an organisation) are found before the batch is written; facts of the batch itself touch
        their own scopes, so the batch gives the same findings as its events one by one.
        """
        writes, store = BatchWrites(), SourcingStore(tx)
        self._pending, self._items, self._entities, self._production_pits = Pending(), set(), set(), set()
        ledgers = (t.ledger(), registry(self.personal))  # built once a batch, not once an event
        for event in unseen_events(tx, events, t.events.c.event_id):
            self._gather(writes, store, event, *ledgers)
        # the sites of the pits produced at, as registered before this batch (the registry is recomputed below)
        self._pending.scopes.update(f"entity:site:{site}" for site in store.sites_of(self._production_pits))
        writes.flush(tx)
        pending, self._pending = self._pending, Pending()
        # who may say what first: the rules then read only the steps that count
        affected = t.ledger().recompute(tx, self._items)
        registry(self.personal).recompute(tx, self._entities)
        pending.lots.update(affected)
        pending.descendants_of.update(affected)
        pending.scopes.update(f"item:{item}" for item in affected)
        pending.scopes.update(f"entity:{kind}:{entity_id}" for kind, entity_id in self._entities)
        if pending:
            recompute(tx, pending, self.tolerances)

    def apply_retracted(self, tx: Connection, retracted: Sequence[tuple[RecordedEvent, str]]) -> None:
        """Validly retracted events count for nothing; the ids they created or registered stay their
        authors' (``consumers.lineage.retracted``), and the findings of what they touch are recomputed."""
        writes = BatchWrites()
        items, entities = gather_retracted(writes, t.ledger(), registry(self.personal), [event for event, _ in retracted])
        taken_back = self._retracted_steps(writes, retracted)
        writes.flush(tx)
        affected = t.ledger().recompute(tx, items)
        registry(self.personal).recompute(tx, entities)
        pending = Pending()
        pending.lots.update(affected, taken_back)
        pending.descendants_of.update(affected)
        pending.scopes.update(f"item:{item}" for item in affected)
        pending.scopes.update(f"entity:{kind}:{entity_id}" for kind, entity_id in entities)
        if pending:
            recompute(tx, pending, self.tolerances)

    @staticmethod
    def _retracted_steps(writes: BatchWrites, retracted: Sequence[tuple[RecordedEvent, str]]) -> set[str]:
        """Keep the retracted hand-overs and creations of lots (``retracted_after_use``: had others relied on
        them?); the lots they concern.

        The retracted event's row is kept too: a finding's time and the organisations it concerns
        (``/v1/findings?organisation_id=``) read the events of its proof."""
        lots: set[str] = set()
        for event, retraction_id in retracted:
            envelope = event.envelope
            facts = lineage_facts(envelope)
            common = {"event_id": event.event_id, "retraction_id": retraction_id, "type": event.type,
                      "recorded_by": envelope["recorded_by"], "attester": attester_of(event),
                      "recorded_at": event.recorded_at, "sort_key": facts.origin.sort_key}
            # what a making was made from, as ``FactStore._made_from`` reads a making that counts
            inputs = json.dumps(sorted({item.lot_id for item in facts.consumed}
                                       | ({f"pit:{envelope['data']['pit_id']}"} if event.type == "production.recorded" else set())))
            rows = [{**common, "lot_id": node.node_id, "to_id": None, "inputs": inputs}
                    for node in facts.created if node.kind != REFINING]
            if event.type == "lot.transferred":
                rows.append({**common, "lot_id": envelope["data"]["lot_id"], "to_id": envelope["data"]["to_id"],
                             "inputs": None})
            if not rows:
                continue
            writes.insert_ignore(t.retracted_steps, rows)
            writes.insert_ignore(t.events, [{"event_id": event.event_id, "type": event.type,
                                             "sort_key": facts.origin.sort_key, "recorded_by": envelope["recorded_by"]}])
            lots.update(row["lot_id"] for row in rows)
        return lots

    def _gather(self, writes: BatchWrites, store: SourcingStore, event: RecordedEvent,
                custody: CustodyLedger, claims: RegistryLedger) -> None:
        """Add the facts of one new event to ``writes`` and note the scopes it touches."""
        envelope = event.envelope
        facts = lineage_facts(envelope)
        key = facts.origin.sort_key
        writes.insert(t.events, {"event_id": event.event_id, "type": event.type, "sort_key": key,
                                 "recorded_by": envelope["recorded_by"]})
        self._items.update(custody.gather(writes, facts, envelope["data"], event.recorded_at, attested_role(event)))
        entity = claims.gather(writes, envelope, event.recorded_at, key)
        if entity is not None:
            self._entities.add(entity)
        self._lineage(writes, facts)
        handler: Callable[..., None] | None = getattr(self, "_" + event.type.replace(".", "_"), None)
        if handler is not None:
            handler(writes, store, event.event_id, envelope, envelope["data"], key)
        elif event.type == RETRACTION:
            self._retraction(writes, store, event)
        self._flag_claims(writes, event, envelope, key)

    def _flag_claims(self, writes: BatchWrites, event: RecordedEvent, envelope: dict, key: str) -> None:
        """Record a raising or resolution of a flag, whoever recorded it: the flag's rule decides what counts."""
        data = envelope["data"]
        common = {"event_id": event.event_id, "sort_key": key}
        if event.type == "risk.flagged":
            raised = [(data["flag_id"], data["subject_id"])]
        elif event.type == "pit.inspected":
            raised = [(inspection_flag_id(event.event_id, category), data["pit_id"])
                      for category, _severity, _description in inspection_risks(data)]
        elif event.type == "risk.resolved":
            writes.insert_ignore(t.flag_resolutions, [{
                **common, "flag_id": data["flag_id"], "recorded_by": envelope["recorded_by"],
                "resolution": data["resolution"], "attested_role": event.attested_by.role if event.attested_by else None}])
            self._pending.scopes.add(f"flag:{data['flag_id']}")
            return
        else:
            return
        writes.insert_ignore(t.flag_raisings, ({**common, "flag_id": flag_id, "subject_id": subject_id,
                                                "raised_by": envelope["recorded_by"], "recorded_at": event.recorded_at}
                                               for flag_id, subject_id in raised))
        self._pending.scopes.update(f"flag:{flag_id}" for flag_id, _subject in raised)

    # -- what an event touches --------------------------------------------------------------
    def _lineage(self, writes: BatchWrites, facts: LineageFacts) -> None:
        """Record the lots and products an event creates and, of a transformation, the grams it consumes.

        The checks see a refining as its inputs and outputs: the node standing for it is not a lot.
        """
        origin = facts.origin
        common = {"event_id": origin.event_id, "type": origin.type, "sort_key": origin.sort_key,
                  "recorded_by": origin.recorded_by}
        outputs = [node for node in facts.created if node.kind != REFINING]
        writes.insert_ignore(t.creations, ({**common, "lot_id": node.node_id, "mass_g": node.mass_g,
                                            "fineness": node.fineness, "gtin": node.gtin} for node in outputs))
        if not facts.consumed:
            return
        writes.insert_ignore(t.consumptions, ({**common, "lot_id": item.lot_id, "mass_g": item.mass_g}
                                              for item in facts.consumed))
        outs = {node.node_id for node in outputs}
        self._pending.scopes.add(f"tx:{origin.event_id}")
        self._pending.lots.update(outs, (item.lot_id for item in facts.consumed))
        # lots made earlier from these outputs now have a longer path (export permits on it)
        self._pending.descendants_of.update(outs)

    # -- registry ---------------------------------------------------------------------------
    # (the rows of organisations, pits and miners are their owners' latest registrations: see ``registry``)
    def _organization_registered(self, writes, store, event_id, envelope, data, key):
        self._pending.scopes.update(f"lot:{lot}" for lot in store.lots_transferred_with(data["org_id"]))
        # whether it is a cooperative decides whose production it may record (``foreign_cooperative``)
        self._pending.scopes.update(f"lot:{lot}" for lot in store.lots_produced_by(data["org_id"]))
        # its GS1 prefixes decide whether the GTINs of its pieces are its own
        self._pending.scopes.update(f"item:{product}" for product in store.products_made_by(data["org_id"]))

    def _miner_registered(self, writes, store, event_id, envelope, data, key):
        self._pending.scopes.update(f"prod:{e}" for e in store.production_ids_by(data["miner_id"]))
        self._pending.scopes.update(f"lot:{lot}" for lot in store.lots_transferred_with(data["miner_id"]))
        self._pending.scopes.update(f"lot:{lot}" for lot in store.lots_from("miner", data["miner_id"]))

    @staticmethod
    def _capacity(writes, event_id, envelope, data, key) -> bool:
        """Store the capacity a registration or inspection states; whether it states one."""
        if data.get("capacity_g_per_month") is None:
            return False
        writes.insert_ignore(t.capacities, [{"event_id": event_id, "pit_id": data["pit_id"], "sort_key": key,
                                          "month": month_of(envelope["occurred_at"]),
                                          "capacity_g": data["capacity_g_per_month"]}])
        return True

    def _capacity_scopes(self, store, pit_id: str) -> None:
        """Recompute what a pit's capacity judges: its months, its miners' months, its productions, its buyers' months."""
        self._pending.scopes.update(f"pitmonth:{month}:{pit_id}" for month in store.months_at(pit_id))
        self._pending.scopes.update(f"minermonth:{month}:{miner}" for miner, month in store.miner_months_at(pit_id))
        # a capacity stated at last clears ``capacity_unknown`` and may judge what buyers of this pit's gold bought
        self._pending.scopes.update(f"prod:{e}" for e in store.production_ids_at(pit_id))
        self._pending.scopes.update(f"coopmonth:{month}:{buyer}" for buyer, month in store.buyer_months_from_pit(pit_id))

    def _pit_registered(self, writes, store, event_id, envelope, data, key):
        self._pending.scopes.add(f"entity:site:{data['site_id']}")  # its lots are now the site's
        self._capacity(writes, event_id, envelope, data, key)
        # with or without a capacity, a claim may change who owns the pit (the first recorded) and so whose
        # capacities count (``FactStore.capacities``)
        self._capacity_scopes(store, data["pit_id"])

    def _pit_inspected(self, writes, store, event_id, envelope, data, key):
        writes.insert_ignore(t.inspections, [{"event_id": event_id, "pit_id": data["pit_id"], "sort_key": key,
                                           "status": data["status"], "month": month_of(envelope["occurred_at"]),
                                           "workers_observed": data.get("workers_observed")}])
        self._pending.scopes.update(f"prod:{e}" for e in store.production_ids_after(data["pit_id"], key))
        # the productions this visit vouches for (``stale_inspection``)
        self._pending.scopes.update(f"prod:{e}" for e in store.production_ids_near(
            data["pit_id"], key, self.tolerances.sourcing.inspection_max_age_days))
        if data.get("workers_observed") is not None:
            self._pending.scopes.update(f"pitmonth:{month}:{data['pit_id']}" for month in store.months_at(data["pit_id"]))
        if self._capacity(writes, event_id, envelope, data, key):
            self._capacity_scopes(store, data["pit_id"])

    # -- custody ----------------------------------------------------------------------------
    def _production_recorded(self, writes, store, event_id, envelope, data, key):
        month, mass_mg = month_of(envelope["occurred_at"]), round(data["mass_g"] * 1000)
        writes.insert_ignore(t.productions, [{"event_id": event_id, "lot_id": data["lot_id"], "pit_id": data["pit_id"],
                                           "mass_g": data["mass_g"], "mass_mg": mass_mg,
                                           "month": month, "sort_key": key, "recorded_by": envelope["recorded_by"]}])
        # the month totals the capacity rules read (an event is applied once: ``unseen_events``)
        miners = dict.fromkeys(data["miner_ids"])  # a miner named twice is credited once
        writes.insert_ignore(t.production_miners, ({"event_id": event_id, "miner_id": m, "month": month, "sort_key": key}
                                                for m in miners))
        writes.add(t.pit_months, {"pit_id": data["pit_id"], "month": month}, {"mass_mg": mass_mg, "productions": 1})
        for miner in miners:
            writes.add(t.miner_months, {"miner_id": miner, "month": month, "pit_id": data["pit_id"]},
                       {"mass_mg": mass_mg, "productions": 1})
        self._pending.scopes.add(f"prod:{event_id}")
        self._pending.added(f"pitmonth:{month}:{data['pit_id']}", key)
        for miner in miners:
            self._pending.added(f"minermonth:{month}:{miner}", key)
        self._pending.lots.add(data["lot_id"])
        # a conflicting registration of its pit, site or miners taints this lot too
        self._pending.scopes.add(f"entity:pit:{data['pit_id']}")
        self._production_pits.add(data["pit_id"])  # their sites: one query for the batch (``apply_batch``)
        self._pending.scopes.update(f"entity:miner:{m}" for m in data["miner_ids"])

    def _lot_transferred(self, writes, store, event_id, envelope, data, key):
        writes.insert_ignore(t.transfers, [{"event_id": event_id, "lot_id": data["lot_id"], "from_id": data["from_id"],
                                         "to_id": data["to_id"], "mass_g": data["mass_g"], "sort_key": key,
                                         "mass_mg": round(data["mass_g"] * 1000),
                                         "price_per_g": data.get("price_per_g"), "currency": data.get("currency"),
                                         "day": envelope["occurred_at"][:10], "month": month_of(envelope["occurred_at"])}])
        self._pending.lots.add(data["lot_id"])

    def _lot_received(self, writes, store, event_id, envelope, data, key):
        writes.insert_ignore(t.receipts, [{"event_id": event_id, "lot_id": data["lot_id"], "mass_g": data["mass_g"],
                                        "recorded_by": envelope["recorded_by"], "sort_key": key}])
        self._pending.lots.add(data["lot_id"])

    def _lot_assayed(self, writes, store, event_id, envelope, data, key):
        writes.insert_ignore(t.lot_stamps, [{"event_id": event_id, "lot_id": data["lot_id"], "type": envelope["type"],
                                          "sort_key": key, "fineness": data["fineness"], "royalties": False}])
        self._pending.lots.add(data["lot_id"])

    def _lot_exported(self, writes, store, event_id, envelope, data, key):
        writes.insert_ignore(t.lot_stamps, [{"event_id": event_id, "lot_id": data["lot_id"], "type": envelope["type"],
                                          "sort_key": key, "fineness": None,
                                          "royalties": data.get("royalties_paid") is not None}])
        self._pending.lots.add(data["lot_id"])
        self._pending.descendants_of.add(data["lot_id"])

    # -- corrections ------------------------------------------------------------------------
    def _retraction(self, writes: BatchWrites, store: SourcingStore, event: RecordedEvent) -> None:
        """Keep who attested a retraction and when the server recorded it (the first by its event's attester is
        the one that counts, ``FactStore.retracted_steps``): steps recorded before it relied on the event; the
        lots of the event, if it was met and taken back (``chk_retracted_steps``), are judged again."""
        target = event.envelope["data"]["event_id"]
        writes.insert_ignore(t.retractions, [{"retraction_id": event.event_id, "target_id": target,
                                              "attester": attester_of(event), "recorded_at": event.recorded_at}])
        self._pending.lots.update(store.lots_retracted(target))

    # -- markets ----------------------------------------------------------------------------
    def _market_price_recorded(self, writes, store, event_id, envelope, data, key):
        writes.insert_ignore(t.prices, [{"event_id": event_id, "date": data["date"], "sort_key": key,
                                      "price_per_g_fine": str(data["price_per_g_fine"]), "currency": data["currency"]}])
        self._pending.scopes.update(f"lot:{lot}" for lot in store.lots_priced_since(data["currency"], data["date"]))
