"""The impact projector: registrations, custody facts and community facts as ``imp_*`` rows.

It also keeps the payout weights of every sold product (who is owed what share of its sale),
recomputing them whenever an event changes the lineage of a sold product, in any arrival order.
Registrations and custody steps are kept as claims; at the end of each batch the registry rows and
the custody of every entity and item the batch touched are recomputed from the claims
(``consumers.lineage``): a sale by an organisation that does not hold the piece is no sale, and
owes nobody anything. Payout policies and payments are kept as stated; the policy in force for each
sale is fixed when either arrives (``consumers.impact.policies``).
"""
from __future__ import annotations

import json
from typing import Any, Callable, Sequence

from sqlalchemy import Connection, MetaData, delete, select, update

from consumers.batch import BatchWrites, unseen_events
from consumers.impact import policies
from consumers.impact import tables as t
from consumers.impact.ancestry import load_ancestry, sold_descendants
from consumers.impact.payouts import entitlements
from consumers.lineage.custody import attested_role
from consumers.lineage.graph import LineageFacts, lineage_facts
from consumers.lineage.ownership import EntityVerdict, RegistryLedger, latest, latest_row_writer
from consumers.lineage.retracted import gather_retracted
from consumers.projector import Projector
from events.log import RecordedEvent
from services.personal_data import PersonalData

#: events that change what the nodes they name are worth to a sale: an assay (their fineness), a sale
REVALUING_TYPES = frozenset({"lot.assayed", "product.sold"})


def month_of(occurred_at: str) -> str:
    """The month of a field time, as the field saw it (its own zone): ``YYYY-MM``."""
    return occurred_at[:7]


class ImpactProjector(Projector):
    """Facts for the community indicators, the value chain and the payouts ledger."""

    name = "impact"
    #: 2: every lot a custody event names is a node (a placeholder until created), as in provenance
    #: 3: registry rows and custody from the claims (owners by the server's clock, steps by holders only)
    #: 4: a retracted creation or registration still holds its id for its author; 5: a back-dated double
    #: hand-over is refused; 6: a receipt counts only from the lot's holder; 7: an assay counts only from
    #: the lot's holder or an independent party (an authority's or auditor's key); 8: a miner's birth year
    #: is sealed in the log: opened through the key store, NULL once the miner is erased (``person.erased``);
    #: 9: payout policies fixed per sale (``imp_sale_policies``, ``imp_sales.recorded_at``) and payments
    #: (``imp_payments``); 10: steps sent in one batch are never a back-dated double hand-over of one another
    version = 10
    handles = frozenset({
        "organization.registered", "site.registered", "miner.registered",
        "production.recorded", "lot.transferred", "lots.merged", "lot.split", "lot.assayed", "lot.refined",
        "product.manufactured", "product.sold",
        "survey.completed", "vsla.registered", "vsla.reported", "training.held", "leadership.recorded",
        "market.price_recorded", "person.erased", "payout.policy_set", "payout.paid",
    })

    def __init__(self, personal: PersonalData | None = None) -> None:
        #: opens the sealed birth years of miners (without it, a sealed birth year projects as unknown)
        self.personal = personal

    @property
    def metadata(self) -> MetaData:
        """The ``imp_*`` tables."""
        return t.metadata

    def apply(self, tx: Connection, event: RecordedEvent) -> None:
        """Record the facts ``event`` states; a duplicate ``event_id`` changes nothing."""
        self.apply_batch(tx, [event])

    def apply_batch(self, tx: Connection, events: Sequence[RecordedEvent]) -> None:
        """Record the facts of the batch's new events, then recompute from the stored claims the custody
        and registry rows of what they touched, then the payout weights of the sold products downstream."""
        writes = BatchWrites()
        items: set[str] = set()
        entities: set[tuple[str, str]] = set()
        revalued: set[str] = set()
        for event in unseen_events(tx, events, t.events.c.event_id):
            envelope = event.envelope
            facts = lineage_facts(envelope)
            items.update(t.ledger().gather(writes, facts, envelope["data"], event.recorded_at, attested_role(event)))
            entity = registry(self.personal).gather(writes, envelope, event.recorded_at, facts.origin.sort_key)
            if entity is not None:
                entities.add(entity)
            handler: Callable[..., None] | None = getattr(self, "_" + event.type.replace(".", "_"), None)
            if handler is not None:
                handler(tx, writes, event, envelope, envelope["data"], facts.origin.sort_key)
            writes.insert(t.events, {"event_id": event.event_id, "position": event.position, "type": event.type})
            revalued.update(changed_lineage(facts))
        writes.flush(tx)
        touched = t.ledger().recompute(tx, items) | revalued
        registry(self.personal).recompute(tx, entities)
        # descendants over every edge, counted or not: a product an edge no longer reaches changes too
        if touched and tx.execute(select(t.sales.c.event_id).limit(1)).first() is not None:
            for product_id in sold_descendants(tx, touched):
                refresh_payout_weights(tx, product_id)

    def apply_retracted(self, tx: Connection, retracted: Sequence[tuple[RecordedEvent, str]]) -> None:
        """Validly retracted events count for nothing; the ids they created or registered stay their
        authors' (``consumers.lineage.retracted``)."""
        writes = BatchWrites()
        items, entities = gather_retracted(writes, t.ledger(), registry(self.personal), [event for event, _ in retracted])
        writes.flush(tx)
        touched = t.ledger().recompute(tx, items)
        registry(self.personal).recompute(tx, entities)
        if touched and tx.execute(select(t.sales.c.event_id).limit(1)).first() is not None:
            for product_id in sold_descendants(tx, touched):
                refresh_payout_weights(tx, product_id)

    def _person_erased(self, tx, writes, event, envelope, data, key):
        # the birth year opened before the key was destroyed goes too; a later recompute opens nothing
        tx.execute(update(t.miners).where(t.miners.c.miner_id == data["person_id"]).values(birth_year=None))

    # -- custody ----------------------------------------------------------------------------
    def _production_recorded(self, tx, writes, event, envelope, data, key):
        share = data["mass_g"] / len(data["miner_ids"])
        month = month_of(envelope["occurred_at"])
        writes.insert_ignore(t.production_shares, (
            {"event_id": event.event_id, "miner_id": miner_id, "lot_id": data["lot_id"], "month": month, "mass_g": share}
            for miner_id in data["miner_ids"]))

    def _lot_transferred(self, tx, writes, event, envelope, data, key):
        writes.insert(t.transfers, dict(
            event_id=event.event_id, lot_id=data["lot_id"], from_id=data["from_id"], to_id=data["to_id"],
            mass_g=data["mass_g"], price_per_g=data.get("price_per_g"), currency=data.get("currency"),
            occurred_at=envelope["occurred_at"], month=month_of(envelope["occurred_at"]), sort_key=key))

    def _lot_assayed(self, tx, writes, event, envelope, data, key):
        writes.insert(t.assays, dict(event_id=event.event_id, lot_id=data["lot_id"],
                                            fineness=data["fineness"], sort_key=key))

    def _product_sold(self, tx, writes, event, envelope, data, key):
        tx.execute(t.sales.insert(), dict(
            event_id=event.event_id, product_id=data["product_id"], price=data.get("price"),
            currency=data.get("currency"), recorded_by=envelope["recorded_by"], occurred_at=envelope["occurred_at"],
            month=month_of(envelope["occurred_at"]), sort_key=key, recorded_at=event.recorded_at))
        policies.fix_new_sale(tx, event.event_id, envelope["occurred_at"][:10], event.recorded_at)

    def _market_price_recorded(self, tx, writes, event, envelope, data, key):
        writes.insert(t.prices, dict(event_id=event.event_id, date=data["date"],
                                            price_per_g_fine=data["price_per_g_fine"], currency=data["currency"],
                                            sort_key=key))

    # -- payouts ----------------------------------------------------------------------------
    def _payout_policy_set(self, tx, writes, event, envelope, data, key):
        tx.execute(t.payout_policies.insert(), dict(
            event_id=event.event_id, policy_id=data["policy_id"], share=data["share"], applies_to=data["applies_to"],
            effective_from=data["effective_from"], decided_by=data["decided_by"],
            evidence=json.dumps(envelope.get("evidence") or []), recorded_at=event.recorded_at))
        policies.refix_after_policy(tx, data["applies_to"], data["effective_from"], event.recorded_at)

    def _payout_paid(self, tx, writes, event, envelope, data, key):
        writes.insert(t.payments, dict(
            event_id=event.event_id, recorded_by=envelope["recorded_by"], occurred_at=envelope["occurred_at"],
            month=month_of(envelope["occurred_at"]), sort_key=key,
            **{name: data[name] for name in ("payment_id", "miner_id", "amount", "currency", "channel", "reference")}))

    # -- community --------------------------------------------------------------------------
    def _survey_completed(self, tx, writes, event, envelope, data, key):
        writes.insert(t.surveys, dict(
            event_id=event.event_id, respondent_id=data["respondent_id"], site_id=data["site_id"],
            gender=data["gender"], age_band=data["age_band"], work_role=data["work_role"],
            income_month=data["income_month"], currency=data["currency"],
            controls_own_income=data["controls_own_income"], savings=data.get("savings"),
            month=month_of(envelope["occurred_at"]), sort_key=key))

    def _vsla_registered(self, tx, writes, event, envelope, data, key):
        writes.insert(t.vsla_registrations, dict(
            event_id=event.event_id, month=month_of(envelope["occurred_at"]), sort_key=key,
            **{name: data[name] for name in ("group_id", "site_id", "members_female", "members_male",
                                             "committee_female", "committee_male")}))

    def _vsla_reported(self, tx, writes, event, envelope, data, key):
        writes.insert(t.vsla_reports, dict(
            event_id=event.event_id, sort_key=key,
            **{name: data[name] for name in ("group_id", "period", "savings", "loans", "currency",
                                             "solidarity_assists")}))

    def _training_held(self, tx, writes, event, envelope, data, key):
        writes.insert(t.trainings, dict(
            event_id=event.event_id, month=month_of(envelope["occurred_at"]),
            **{name: data[name] for name in ("site_id", "kind", "attendees_female", "attendees_male")}))

    def _leadership_recorded(self, tx, writes, event, envelope, data, key):
        writes.insert(t.leadership, dict(
            event_id=event.event_id, person_id=data["person_id"], gender=data["gender"], position=data["position"],
            organisation_id=data["organisation_id"], site_id=data.get("site_id"),
            month=month_of(envelope["occurred_at"]), sort_key=key))


def changed_lineage(facts: LineageFacts) -> list[str]:
    """The nodes an event changes the payouts downstream of: those it creates, those it assays or sells."""
    named = [ref.node_id for ref in facts.referenced] if facts.origin.type in REVALUING_TYPES else []
    return [node.node_id for node in facts.created] + named


def refresh_payout_weights(tx: Connection, product_id: str) -> None:
    """Recompute who is owed what share of every counted sale of ``product_id`` from its current ancestry.

    A sale by an organisation that did not hold the piece is refused: it owes nobody anything.
    """
    all_sales = list(tx.execute(select(t.sales.c.event_id).where(t.sales.c.product_id == product_id)).scalars())
    tx.execute(delete(t.payout_weights).where(t.payout_weights.c.sale_event_id.in_(all_sales)))
    sale_ids = list(tx.execute(select(t.sales.c.event_id).where(
        t.sales.c.product_id == product_id, t.sales.c.event_id.not_in(t.refused_events()))).scalars())
    ancestry = load_ancestry(tx, product_id)
    composition = ancestry.lineage.composition.get(product_id, {})
    node = tx.execute(select(t.nodes.c.mass_g).where(t.nodes.c.node_id == product_id)).first()
    fineness = ancestry.lineage.fineness.get(product_id)
    fine_g = (node.mass_g or 0) * fineness if node is not None and node.mass_g and fineness else None
    shares = entitlements(composition, ancestry.lot_miners, fine_g)
    rows = [{"sale_event_id": sale_id, "recipient_id": recipient, "weight": str(entry.weight),
             "fine_g": round(entry.fine_g, 9), "lots": json.dumps(sorted(entry.lots))}
            for sale_id in sale_ids for recipient, entry in sorted(shares.items())]
    if rows:
        tx.execute(t.payout_weights.insert(), rows)


def _miner_row(entry: EntityVerdict, birth_years: dict[str, Any]) -> dict[str, Any]:
    first = entry.counted[0]  # the owner's earliest registration: when the miner joined the record
    return {**latest(entry, ("miner_id", "cooperative_id", "site_id", "gender", "work_role")),
            "birth_year": birth_years.get(entry.entity_id),
            "first_sort": first.sort_key, "first_month": month_of(first.occurred_at)}


def _miner_writer(personal: PersonalData | None):
    """Miners' rows with their birth years opened in one key-store query per batch (``None`` where erased)."""
    def write(tx: Connection, verdicts: list[EntityVerdict]) -> None:
        counted = [entry for entry in verdicts if entry.counted]
        data = [("miner.registered", entry.counted[-1].data) for entry in counted]
        opened = personal.reveal(data) if personal is not None else [
            {"birth_year": None if isinstance(item.get("birth_year"), dict) else item.get("birth_year")}
            for _, item in data]
        births = {entry.entity_id: fields.get("birth_year") for entry, fields in zip(counted, opened)}
        latest_row_writer(t.miners, lambda entry: _miner_row(entry, births))(tx, verdicts)
    return write


def registry(personal: PersonalData | None = None) -> RegistryLedger:
    """The registry ledger of the impact model: each entity's row is its owner's latest registration."""
    return RegistryLedger(t.registry_claims, {
        "organisation": latest_row_writer(t.organisations, lambda entry: latest(entry, ("org_id", "name", "role"))),
        "site": latest_row_writer(t.sites, lambda entry: latest(entry, ("site_id", "name", "country", "region"))),
        "miner": _miner_writer(personal),
    })


__all__ = ["ImpactProjector", "refresh_payout_weights"]
