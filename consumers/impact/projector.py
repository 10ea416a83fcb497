"""The impact projector: registrations, custody facts and community facts as ``imp_*`` rows.

It also keeps the payout weights of every sold product (who is owed what share of its sale),
recomputing them whenever an event changes the lineage of a sold product, in any arrival order.
"""
from __future__ import annotations

import json
from typing import Any, Callable

from sqlalchemy import Connection, MetaData, delete, or_, select

from consumers.impact import tables as t
from consumers.impact.ancestry import load_ancestry, sold_descendants
from consumers.impact.payouts import entitlements
from consumers.projector import Projector
from consumers.provenance.projector import refining_node_id, sort_key
from consumers.sql import insert_ignore, upsert
from events.log import RecordedEvent

#: custody events that change the lineage of what descends from the nodes they touch
LINEAGE_TYPES = frozenset({"production.recorded", "lots.merged", "lot.split", "lot.assayed", "lot.refined",
                           "product.manufactured"})


def month_of(occurred_at: str) -> str:
    """The month of a field time, as the field saw it (its own zone): ``YYYY-MM``."""
    return occurred_at[:7]


class ImpactProjector(Projector):
    """Facts for the community indicators, the value chain and the payouts ledger."""

    name = "impact"
    version = 1
    handles = frozenset({
        "organization.registered", "site.registered", "miner.registered",
        "production.recorded", "lot.transferred", "lots.merged", "lot.split", "lot.assayed", "lot.refined",
        "product.manufactured", "product.sold",
        "survey.completed", "vsla.registered", "vsla.reported", "training.held", "leadership.recorded",
        "market.price_recorded",
    })

    @property
    def metadata(self) -> MetaData:
        """The ``imp_*`` tables."""
        return t.metadata

    def apply(self, tx: Connection, event: RecordedEvent) -> None:
        """Record the facts ``event`` states; a duplicate ``event_id`` changes nothing."""
        already = tx.execute(select(t.events.c.event_id).where(t.events.c.event_id == event.event_id)).first()
        if already is not None:
            return
        envelope = event.envelope
        key = sort_key(envelope["occurred_at"], event.event_id)
        handler: Callable[..., list[str]] = getattr(self, "_" + event.type.replace(".", "_"))
        touched = handler(tx, event, envelope, envelope["data"], key) or []
        tx.execute(t.events.insert().values(event_id=event.event_id, position=event.position, type=event.type))
        if touched and tx.execute(select(t.sales.c.event_id).limit(1)).first() is not None:
            products = {product for node in touched for product in sold_descendants(tx, node)}
            for product_id in sorted(products):
                refresh_payout_weights(tx, product_id)

    # -- registry ---------------------------------------------------------------------------
    def _organization_registered(self, tx, event, envelope, data, key):
        upsert(tx, t.organisations, {"org_id": data["org_id"], "name": data["name"], "role": data["role"]},
               update=("name", "role"))

    def _site_registered(self, tx, event, envelope, data, key):
        row = {name: data[name] for name in ("site_id", "name", "country", "region")}
        upsert(tx, t.sites, row, update=("name", "country", "region"))

    def _miner_registered(self, tx, event, envelope, data, key):
        row = {name: data[name] for name in ("miner_id", "cooperative_id", "site_id", "gender", "birth_year", "work_role")}
        existing = tx.execute(select(t.miners.c.first_sort, t.miners.c.first_month)
                              .where(t.miners.c.miner_id == data["miner_id"])).first()
        first_sort, first_month = key, month_of(envelope["occurred_at"])
        if existing is not None and existing.first_sort < first_sort:
            first_sort, first_month = existing.first_sort, existing.first_month
        upsert(tx, t.miners, {**row, "first_sort": first_sort, "first_month": first_month},
               update=[name for name in row if name != "miner_id"] + ["first_sort", "first_month"])

    # -- custody ----------------------------------------------------------------------------
    @staticmethod
    def _create_node(tx: Connection, node_id: str, kind: str, event: RecordedEvent, key: str, **facts: Any) -> None:
        """Create a node, or fill a placeholder; if two events claim to create it, the earliest wins."""
        row = {"node_id": node_id, "kind": kind, "created_event_id": event.event_id, "created_sort": key,
               "created_type": event.type, "mass_g": None, "declared_fineness": None, **facts}
        upsert(tx, t.nodes, row, update=[name for name in row if name != "node_id"],
               where=lambda excluded: or_(t.nodes.c.created_sort.is_(None), excluded.created_sort < t.nodes.c.created_sort))

    @staticmethod
    def _placeholders(tx: Connection, node_ids: list[str]) -> None:
        insert_ignore(tx, t.nodes, ({"node_id": node_id, "kind": "lot"} for node_id in node_ids))

    @staticmethod
    def _edges(tx: Connection, event_id: str, links: list[tuple[str, str, float]]) -> None:
        insert_ignore(tx, t.edges, ({"event_id": event_id, "parent_id": parent, "child_id": child, "mass_g": mass}
                                    for parent, child, mass in links))

    def _production_recorded(self, tx, event, envelope, data, key):
        self._create_node(tx, data["lot_id"], "lot", event, key, mass_g=data["mass_g"],
                          declared_fineness=data.get("fineness"))
        share = data["mass_g"] / len(data["miner_ids"])
        month = month_of(envelope["occurred_at"])
        insert_ignore(tx, t.production_shares, (
            {"event_id": event.event_id, "miner_id": miner_id, "lot_id": data["lot_id"], "month": month, "mass_g": share}
            for miner_id in data["miner_ids"]))
        return [data["lot_id"]]

    def _lot_transferred(self, tx, event, envelope, data, key):
        tx.execute(t.transfers.insert().values(
            event_id=event.event_id, lot_id=data["lot_id"], from_id=data["from_id"], to_id=data["to_id"],
            mass_g=data["mass_g"], price_per_g=data.get("price_per_g"), currency=data.get("currency"),
            occurred_at=envelope["occurred_at"], month=month_of(envelope["occurred_at"]), sort_key=key))

    def _lots_merged(self, tx, event, envelope, data, key):
        inputs = data["inputs"]
        self._placeholders(tx, [item["lot_id"] for item in inputs])
        self._create_node(tx, data["lot_id"], "lot", event, key, mass_g=round(sum(i["mass_g"] for i in inputs), 6))
        self._edges(tx, event.event_id, [(item["lot_id"], data["lot_id"], item["mass_g"]) for item in inputs])
        return [data["lot_id"]]

    def _lot_split(self, tx, event, envelope, data, key):
        self._placeholders(tx, [data["lot_id"]])
        for item in data["outputs"]:
            self._create_node(tx, item["lot_id"], "lot", event, key, mass_g=item["mass_g"])
        self._edges(tx, event.event_id, [(data["lot_id"], item["lot_id"], item["mass_g"]) for item in data["outputs"]])
        return [item["lot_id"] for item in data["outputs"]]

    def _lot_assayed(self, tx, event, envelope, data, key):
        self._placeholders(tx, [data["lot_id"]])
        tx.execute(t.assays.insert().values(event_id=event.event_id, lot_id=data["lot_id"],
                                            fineness=data["fineness"], sort_key=key))
        return [data["lot_id"]]

    def _lot_refined(self, tx, event, envelope, data, key):
        refining = refining_node_id(event.event_id)
        inputs, outputs = data["inputs"], data["outputs"]
        self._placeholders(tx, [item["lot_id"] for item in inputs])
        self._create_node(tx, refining, "refining", event, key, mass_g=round(sum(i["mass_g"] for i in inputs), 6))
        for item in outputs:
            self._create_node(tx, item["lot_id"], "lot", event, key, mass_g=item["mass_g"],
                              declared_fineness=item["fineness"])
        self._edges(tx, event.event_id,
                    [(item["lot_id"], refining, item["mass_g"]) for item in inputs]
                    + [(refining, item["lot_id"], item["mass_g"]) for item in outputs])
        return [refining]

    def _product_manufactured(self, tx, event, envelope, data, key):
        inputs = data["inputs"]
        self._placeholders(tx, [item["lot_id"] for item in inputs])
        self._create_node(tx, data["product_id"], "product", event, key, mass_g=data["mass_g"],
                          declared_fineness=data["fineness"])
        self._edges(tx, event.event_id, [(item["lot_id"], data["product_id"], item["mass_g"]) for item in inputs])
        return [data["product_id"]]

    def _product_sold(self, tx, event, envelope, data, key):
        insert_ignore(tx, t.nodes, [{"node_id": data["product_id"], "kind": "product"}])
        tx.execute(t.sales.insert().values(
            event_id=event.event_id, product_id=data["product_id"], price=data.get("price"),
            currency=data.get("currency"), recorded_by=envelope["recorded_by"], occurred_at=envelope["occurred_at"],
            month=month_of(envelope["occurred_at"]), sort_key=key))
        return [data["product_id"]]

    def _market_price_recorded(self, tx, event, envelope, data, key):
        tx.execute(t.prices.insert().values(event_id=event.event_id, date=data["date"],
                                            price_per_g_fine=data["price_per_g_fine"], currency=data["currency"],
                                            sort_key=key))

    # -- community --------------------------------------------------------------------------
    def _survey_completed(self, tx, event, envelope, data, key):
        tx.execute(t.surveys.insert().values(
            event_id=event.event_id, respondent_id=data["respondent_id"], site_id=data["site_id"],
            gender=data["gender"], age_band=data["age_band"], work_role=data["work_role"],
            income_month=data["income_month"], currency=data["currency"],
            controls_own_income=data["controls_own_income"], savings=data.get("savings"),
            month=month_of(envelope["occurred_at"]), sort_key=key))

    def _vsla_registered(self, tx, event, envelope, data, key):
        tx.execute(t.vsla_registrations.insert().values(
            event_id=event.event_id, month=month_of(envelope["occurred_at"]), sort_key=key,
            **{name: data[name] for name in ("group_id", "site_id", "members_female", "members_male",
                                             "committee_female", "committee_male")}))

    def _vsla_reported(self, tx, event, envelope, data, key):
        tx.execute(t.vsla_reports.insert().values(
            event_id=event.event_id, sort_key=key,
            **{name: data[name] for name in ("group_id", "period", "savings", "loans", "currency",
                                             "solidarity_assists")}))

    def _training_held(self, tx, event, envelope, data, key):
        tx.execute(t.trainings.insert().values(
            event_id=event.event_id, month=month_of(envelope["occurred_at"]),
            **{name: data[name] for name in ("site_id", "kind", "attendees_female", "attendees_male")}))

    def _leadership_recorded(self, tx, event, envelope, data, key):
        tx.execute(t.leadership.insert().values(
            event_id=event.event_id, person_id=data["person_id"], gender=data["gender"], position=data["position"],
            organisation_id=data["organisation_id"], site_id=data.get("site_id"),
            month=month_of(envelope["occurred_at"]), sort_key=key))


def refresh_payout_weights(tx: Connection, product_id: str) -> None:
    """Recompute who is owed what share of every sale of ``product_id`` from its current ancestry."""
    sale_ids = list(tx.execute(select(t.sales.c.event_id).where(t.sales.c.product_id == product_id)).scalars())
    tx.execute(delete(t.payout_weights).where(t.payout_weights.c.sale_event_id.in_(sale_ids)))
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


__all__ = ["ImpactProjector", "refresh_payout_weights"]
