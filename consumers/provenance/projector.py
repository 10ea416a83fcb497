"""The provenance projector: records each custody and registry fact of the log as rows.

The lineage graph (nodes, placeholders, edges) and who may say what (custody claims and refusals,
registry claims and owners) come from ``consumers.lineage``; this projector adds what only it keeps:
the served events, assays, transfers, receipts, exports and sales. At the end of each batch it
recomputes, from the stored claims, the custody of every item and the registry row of every entity
the batch touched.
"""
from __future__ import annotations

from functools import cache
from typing import Any, Callable, Sequence

import orjson
from sqlalchemy import Connection, MetaData, select

from consumers.batch import BatchWrites, PerThread, unseen_events
from consumers.lineage.custody import attested_role
from consumers.lineage.graph import lineage_facts
from consumers.lineage.ownership import EntityVerdict, RegistryLedger, latest, latest_row_writer
from consumers.lineage.retracted import gather_retracted
from consumers.projector import Projector
from consumers.retractions import RETRACTION
from consumers.sql import among, insert_ignore
from consumers.provenance import signatures
from consumers.provenance.assays import refresh_assays
from consumers.provenance import tables as t
from events.catalogue import RESTRICTED_FIELDS
from events.log import RecordedEvent
from events.sealed import PERSONAL_FIELDS


def served_forms(event: RecordedEvent, envelope: dict[str, Any], retracted_by: str | None = None) -> dict[str, str | None]:
    """The event as the API serves it (with ``attested_by``, ``signed_by`` when it carries a signature
    (null until the signature is verified, see ``signatures``), and ``retracted_by_event`` when a
    retraction took it back), and its public form when it has restricted fields to hide.

    An unsigned event has no ``signed_by``: its served form stays the envelope plus the v1 server
    fields, so a client that drops those to recompute the hash still can."""
    served = {**envelope, **event.server_fields()}
    if "signature" in envelope:
        served["signed_by"] = None
    if retracted_by is not None:
        served["retracted_by_event"] = retracted_by
    hidden = RESTRICTED_FIELDS.get(event.type, frozenset()) & envelope["data"].keys()
    public = None
    if hidden:
        public = {**served, "data": {k: v for k, v in envelope["data"].items() if k not in hidden}}
    return {
        "served": orjson.dumps(served).decode(),
        "served_public": orjson.dumps(public).decode() if public is not None else None,
    }


class ProvenanceProjector(Projector):
    """Lots and products as a lineage graph with grams on every edge, plus who holds what."""

    name = "provenance"
    #: 4: custody claims and refusals, registry owners by the server's clock; 5: attested_by served;
    #: 6: retractions (a retracted event stays in the timeline, marked, and counts for nothing);
    #: 7: a retracted creation or registration still holds its id for its author
    #: 8: signing keys, and ``signed_by`` served; 9: a back-dated double hand-over is refused;
    #: 10: a receipt counts only from the lot's holder; 11: an assay counts only from the lot's holder or
    #: an independent party, and a node's assay is its latest counted one (recomputed, no longer a max-upsert)
    #: 12: a miner's personal fields are kept sealed (``personal``), opened at query time; ``person.erased``
    #: 13: the subjects of an event found by its id (an index), for linking retractions; steps sent in one
    #: batch are never a back-dated double hand-over of one another (field time decides between them)
    version = 13
    handles = frozenset({
        "organization.registered", "site.registered", "pit.registered", "miner.registered",
        "production.recorded", "lot.transferred", "lot.received", "lots.merged", "lot.split",
        "lot.assayed", "lot.exported", "lot.refined", "product.manufactured", "product.sold",
        "event.retracted", signatures.KEY_REGISTERED, signatures.KEY_REVOKED, "person.erased",
    })

    #: the items and registry entities the batch being applied touched (per thread: see ``PerThread``)
    _items = PerThread()
    _entities = PerThread()
    #: the signing keys and signed events the batch touched
    _keys = PerThread()
    _signed = PerThread()

    def __init__(self) -> None:
        self._items, self._entities, self._keys, self._signed = set(), set(), set(), set()

    @property
    def metadata(self) -> MetaData:
        """The ``prov_*`` tables."""
        return t.metadata

    def apply(self, tx: Connection, event: RecordedEvent) -> None:
        """Record the facts ``event`` states; a duplicate ``event_id`` changes nothing."""
        self.apply_batch(tx, [event])

    def apply_batch(self, tx: Connection, events: Sequence[RecordedEvent]) -> None:
        """Record the facts of ``events`` in a few statements per table; events already recorded are skipped.

        Every write of this read model is order tolerant (see ``consumers.batch``), so gathering a
        batch's rows per table gives the same tables as applying its events one by one.
        """
        writes = BatchWrites()
        self._items, self._entities, self._keys, self._signed = set(), set(), set(), set()
        for event in unseen_events(tx, events, t.events.c.event_id):
            self.gather(writes, event)
        writes.flush(tx)
        signatures.recompute(tx, self._keys, self._signed)
        # who may say what, from the stored claims of everything the batch touched; then each touched
        # lot's assay, from the assays that count
        refresh_assays(tx, t.ledger().recompute(tx, self._items))
        registry().recompute(tx, self._entities)
        link_retractions(tx, [event.event_id for event in events]
                         + [event.envelope["data"]["event_id"] for event in events if event.type == RETRACTION])

    def apply_retracted(self, tx: Connection, retracted: Sequence[tuple[RecordedEvent, str]]) -> None:
        """Keep validly retracted events in the timelines, marked with their retraction, and nothing else:
        no lineage, no custody, no registry row (the runner hands them here instead of applying them);
        the ids they created or registered stay their authors' (``consumers.lineage.retracted``)."""
        writes = BatchWrites()
        fresh = {event.event_id for event in unseen_events(tx, [event for event, _ in retracted], t.events.c.event_id)}
        signed: set[str] = set()
        for event, retraction_id in retracted:
            if event.event_id not in fresh:
                continue
            envelope = event.envelope
            if "signature" in envelope and event.type not in (signatures.KEY_REGISTERED, signatures.KEY_REVOKED):
                # a retracted step still shows who signed it; a retracted key registration registers nothing
                signatures.gather(writes, event, envelope)
                signed.add(event.event_id)
            facts = lineage_facts(envelope)
            writes.insert(t.events, dict(
                event_id=event.event_id, position=event.position, type=event.type, sort_key=facts.origin.sort_key,
                recorded_at=event.recorded_at, hash=event.hash, **served_forms(event, envelope, retraction_id),
            ))
            writes.insert_ignore(t.event_subjects, ({"subject_id": subject, "event_id": event.event_id}
                                                    for subject in set(facts.subjects)))
        items, entities = gather_retracted(writes, t.ledger(), registry(),
                                           [event for event, _ in retracted if event.event_id in fresh])
        writes.flush(tx)
        refresh_assays(tx, t.ledger().recompute(tx, items))
        registry().recompute(tx, entities)
        signatures.recompute(tx, (), signed)
        link_retractions(tx, sorted(fresh))

    def gather(self, writes: BatchWrites, event: RecordedEvent) -> None:
        """Add the rows of one event (not recorded before) to ``writes``: its lineage facts and claims, then its
        own rows; note the items and registry entities it touches."""
        envelope = event.envelope
        facts = lineage_facts(envelope)
        self._items.update(t.ledger().gather(writes, facts, envelope["data"], event.recorded_at, attested_role(event)))
        entity = registry().gather(writes, envelope, event.recorded_at, facts.origin.sort_key)
        if entity is not None:
            self._entities.add(entity)
        handler: Callable[..., None] | None = getattr(self, "_" + event.type.replace(".", "_"), None)
        if handler is not None:
            handler(writes, event, envelope, envelope["data"], facts.origin.sort_key)
        self._keys.update(signatures.gather(writes, event, envelope))
        if "signature" in envelope:
            self._signed.add(event.event_id)
        if event.type == RETRACTION:
            writes.insert_ignore(t.retractions, [{"retraction_id": event.event_id,
                                                  "target_id": envelope["data"]["event_id"]}])
        writes.insert(t.events, dict(
            event_id=event.event_id, position=event.position, type=event.type, sort_key=facts.origin.sort_key,
            recorded_at=event.recorded_at, hash=event.hash, **served_forms(event, envelope),
        ))
        writes.insert_ignore(t.event_subjects, ({"subject_id": subject, "event_id": event.event_id}
                                                for subject in set(facts.subjects)))

    def _person_erased(self, writes, event, envelope, data, key):
        writes.insert_ignore(t.erasures, [{"person_id": data["person_id"], "event_id": event.event_id,
                                           "recorded_at": event.recorded_at}])

    # -- custody (beyond the lineage graph) ---------------------------------------------------
    def _production_recorded(self, writes, event, envelope, data, key):
        writes.insert_ignore(t.production_miners, (
            {"event_id": event.event_id, "miner_id": miner_id, "lot_id": data["lot_id"]} for miner_id in data["miner_ids"]
        ))

    def _lot_transferred(self, writes, event, envelope, data, key):
        writes.insert(t.transfers, dict(
            event_id=event.event_id, lot_id=data["lot_id"], from_id=data["from_id"], to_id=data["to_id"],
            mass_g=data["mass_g"], price_per_g=data.get("price_per_g"), currency=data.get("currency"),
            occurred_at=envelope["occurred_at"], sort_key=key,
        ))

    def _lot_received(self, writes, event, envelope, data, key):
        writes.insert(t.receipts, dict(
            event_id=event.event_id, lot_id=data["lot_id"], mass_g=data["mass_g"],
            recorded_by=envelope["recorded_by"], occurred_at=envelope["occurred_at"], sort_key=key,
        ))

    def _lot_assayed(self, writes, event, envelope, data, key):
        writes.insert(t.assays, dict(
            event_id=event.event_id, lot_id=data["lot_id"], fineness=data["fineness"],
            method=data.get("method"), sort_key=key,
        ))

    def _lot_exported(self, writes, event, envelope, data, key):
        writes.insert(t.exports, dict(
            event_id=event.event_id, lot_id=data["lot_id"], export_permit=data["export_permit"],
            destination_country=data["destination_country"], recorded_by=envelope["recorded_by"],
            occurred_at=envelope["occurred_at"],
        ))

    def _product_sold(self, writes, event, envelope, data, key):
        writes.insert(t.sales, dict(
            event_id=event.event_id, product_id=data["product_id"], price=data.get("price"),
            currency=data.get("currency"), recorded_by=envelope["recorded_by"],
            occurred_at=envelope["occurred_at"], sort_key=key,
        ))


def _organisation_row(entry: EntityVerdict) -> dict[str, Any]:
    row = latest(entry, ("org_id", "name", "role", "country"))
    prefixes = entry.counted[-1].data.get("gs1_company_prefixes")
    row["gs1_company_prefixes"] = orjson.dumps(sorted(prefixes)).decode() if prefixes else None
    return row


def _miner_row(entry: EntityVerdict) -> dict[str, Any]:
    row = latest(entry, ("miner_id", "cooperative_id", "site_id", "gender", "work_role"))
    data = entry.counted[-1].data
    personal = {name: data[name] for name in PERSONAL_FIELDS["miner.registered"].fields if name in data}
    row["personal"] = orjson.dumps(personal, option=orjson.OPT_SORT_KEYS).decode() if personal else None
    return row


def link_retractions(tx: Connection, event_ids: Sequence[str]) -> None:
    """Put each retraction in the timelines of the event it names: the subjects of ``event_ids``
    (events just recorded, or named by retractions just recorded) become its subjects too.

    Two look-ups by index: the retractions naming any of ``event_ids`` (mostly none), then the
    subjects of just those targets (a join would let the planner scan every subject row per batch)."""
    if not event_ids:
        return
    r, s = t.retractions.c, t.event_subjects.c
    by_target: dict[str, list[str]] = {}
    for retraction, target in tx.execute(select(r.retraction_id, r.target_id).where(among(r.target_id, set(event_ids)))):
        by_target.setdefault(target, []).append(retraction)
    if not by_target:
        return
    rows = [{"subject_id": subject, "event_id": retraction}
            for target, subject in tx.execute(select(s.event_id, s.subject_id).where(among(s.event_id, by_target)))
            for retraction in by_target[target]]
    insert_ignore(tx, t.event_subjects, rows)


@cache  # stateless: built once
def registry() -> RegistryLedger:
    """The registry ledger of the provenance model: each entity's row is its owner's latest registration."""
    return RegistryLedger(t.registry_claims, {
        "organisation": latest_row_writer(t.organisations, _organisation_row),
        "site": latest_row_writer(t.sites, lambda entry: latest(
            entry, ("site_id", "name", "country", "region", "mineral", "latitude", "longitude", "licence"))),
        "pit": latest_row_writer(t.pits, lambda entry: latest(entry, ("pit_id", "site_id", "capacity_g_per_month"))),
        "miner": latest_row_writer(t.miners, _miner_row),
    })
