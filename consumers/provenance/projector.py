"""The provenance projector: records each custody and registry fact of the log as rows."""
from __future__ import annotations

from datetime import timezone
from typing import Any, Callable

import orjson
from sqlalchemy import Connection, MetaData, or_, select

from consumers.projector import Projector
from consumers.provenance import tables as t
from consumers.sql import insert_ignore, upsert
from events.catalogue import RESTRICTED_FIELDS
from events.fields import parse_timestamp
from events.log import RecordedEvent


def sort_key(occurred_at: str, event_id: str) -> str:
    """A key that orders events by when they happened (in UTC), then by id: the same on every replay."""
    moment = parse_timestamp(occurred_at).astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ") + "|" + event_id


def served_forms(event: RecordedEvent, envelope: dict[str, Any]) -> dict[str, str | None]:
    """The event as the API serves it, and its public form when it has restricted fields to hide."""
    served = {**envelope, "recorded_at": event.recorded_at, "position": event.position, "hash": event.hash}
    hidden = RESTRICTED_FIELDS.get(event.type, frozenset()) & envelope["data"].keys()
    public = None
    if hidden:
        public = {**served, "data": {k: v for k, v in envelope["data"].items() if k not in hidden}}
    return {
        "served": orjson.dumps(served).decode(),
        "served_public": orjson.dumps(public).decode() if public is not None else None,
    }


def refining_node_id(event_id: str) -> str:
    """The id of the node standing for one refining (``/`` cannot occur in client identifiers)."""
    return f"refining/{event_id}"


class ProvenanceProjector(Projector):
    """Lots and products as a lineage graph with grams on every edge, plus who holds what."""

    name = "provenance"
    version = 3
    handles = frozenset({
        "organization.registered", "site.registered", "pit.registered", "miner.registered",
        "production.recorded", "lot.transferred", "lot.received", "lots.merged", "lot.split",
        "lot.assayed", "lot.exported", "lot.refined", "product.manufactured", "product.sold",
    })

    @property
    def metadata(self) -> MetaData:
        """The ``prov_*`` tables."""
        return t.metadata

    def apply(self, tx: Connection, event: RecordedEvent) -> None:
        """Record the facts ``event`` states; a duplicate ``event_id`` changes nothing."""
        already = tx.execute(select(t.events.c.event_id).where(t.events.c.event_id == event.event_id)).first()
        if already is not None:
            return
        envelope = event.envelope
        key = sort_key(envelope["occurred_at"], event.event_id)
        handler: Callable[..., list[str]] = getattr(self, "_" + event.type.replace(".", "_"))
        subjects = handler(tx, event, envelope, envelope["data"], key)
        tx.execute(t.events.insert().values(
            event_id=event.event_id, position=event.position, type=event.type, sort_key=key,
            recorded_at=event.recorded_at, hash=event.hash, **served_forms(event, envelope),
        ))
        insert_ignore(tx, t.event_subjects, ({"subject_id": subject, "event_id": event.event_id} for subject in set(subjects)))

    # -- helpers ----------------------------------------------------------------------------
    @staticmethod
    def _create_node(tx: Connection, node_id: str, kind: str, event: RecordedEvent, envelope: dict, key: str,
                     **facts: Any) -> None:
        """Create a node, or fill a placeholder; if two events claim to create it, the earliest wins."""
        row = {
            "node_id": node_id, "kind": kind, "created_event_id": event.event_id, "created_sort": key,
            "created_type": event.type, "created_by": envelope["recorded_by"], "created_at": envelope["occurred_at"],
            "mass_g": None, "declared_fineness": None, "pit_id": None, "gtin": None, "serial": None, "description": None,
            **facts,
        }
        upsert(tx, t.nodes, row, update=[name for name in row if name != "node_id"],
               where=lambda excluded: or_(t.nodes.c.created_sort.is_(None), excluded.created_sort < t.nodes.c.created_sort))

    @staticmethod
    def _latest(tx: Connection, node_id: str, **values: Any) -> None:
        """Keep on the node the values of the latest event of one kind (by sort key): order free."""
        sort_column, *_ = [name for name in values if name.endswith("_sort")]
        row = {"node_id": node_id, "kind": "lot", **values}
        upsert(tx, t.nodes, row, update=list(values),
               where=lambda excluded: or_(t.nodes.c[sort_column].is_(None), excluded[sort_column] > t.nodes.c[sort_column]))

    @staticmethod
    def _placeholders(tx: Connection, node_ids: list[str]) -> None:
        insert_ignore(tx, t.nodes, ({"node_id": node_id, "kind": "lot"} for node_id in node_ids))

    @staticmethod
    def _edges(tx: Connection, event_id: str, links: list[tuple[str, str, float]]) -> None:
        insert_ignore(tx, t.edges, (
            {"event_id": event_id, "parent_id": parent, "child_id": child, "mass_g": mass} for parent, child, mass in links
        ))

    # -- registry ---------------------------------------------------------------------------
    def _organization_registered(self, tx, event, envelope, data, key):
        upsert(tx, t.organisations, dict(data), update=("name", "role", "country"))
        return []

    def _site_registered(self, tx, event, envelope, data, key):
        row = {"latitude": None, "longitude": None, "licence": None, **data}
        upsert(tx, t.sites, row, update=[name for name in row if name != "site_id"])
        return []

    def _pit_registered(self, tx, event, envelope, data, key):
        row = {"capacity_g_per_month": None, **data}
        upsert(tx, t.pits, row, update=("site_id", "capacity_g_per_month"))
        return []

    def _miner_registered(self, tx, event, envelope, data, key):
        row = {"name": None, "photo_id_sha256": None, **data}
        upsert(tx, t.miners, row, update=[name for name in row if name != "miner_id"])
        return []

    # -- custody ----------------------------------------------------------------------------
    def _production_recorded(self, tx, event, envelope, data, key):
        self._create_node(tx, data["lot_id"], "lot", event, envelope, key, mass_g=data["mass_g"],
                          declared_fineness=data.get("fineness"), pit_id=data["pit_id"])
        insert_ignore(tx, t.production_miners, (
            {"event_id": event.event_id, "miner_id": miner_id, "lot_id": data["lot_id"]} for miner_id in data["miner_ids"]
        ))
        return [data["lot_id"]]

    def _lot_transferred(self, tx, event, envelope, data, key):
        self._latest(tx, data["lot_id"], holder_id=data["to_id"], holder_sort=key)
        tx.execute(t.transfers.insert().values(
            event_id=event.event_id, lot_id=data["lot_id"], from_id=data["from_id"], to_id=data["to_id"],
            mass_g=data["mass_g"], price_per_g=data.get("price_per_g"), currency=data.get("currency"),
            occurred_at=envelope["occurred_at"], sort_key=key,
        ))
        return [data["lot_id"]]

    def _lot_received(self, tx, event, envelope, data, key):
        self._placeholders(tx, [data["lot_id"]])
        tx.execute(t.receipts.insert().values(
            event_id=event.event_id, lot_id=data["lot_id"], mass_g=data["mass_g"],
            recorded_by=envelope["recorded_by"], occurred_at=envelope["occurred_at"], sort_key=key,
        ))
        return [data["lot_id"]]

    def _lots_merged(self, tx, event, envelope, data, key):
        inputs = data["inputs"]
        self._placeholders(tx, [item["lot_id"] for item in inputs])
        self._create_node(tx, data["lot_id"], "lot", event, envelope, key,
                          mass_g=round(sum(item["mass_g"] for item in inputs), 6))
        self._edges(tx, event.event_id, [(item["lot_id"], data["lot_id"], item["mass_g"]) for item in inputs])
        return [data["lot_id"], *(item["lot_id"] for item in inputs)]

    def _lot_split(self, tx, event, envelope, data, key):
        self._placeholders(tx, [data["lot_id"]])
        for item in data["outputs"]:
            self._create_node(tx, item["lot_id"], "lot", event, envelope, key, mass_g=item["mass_g"])
        self._edges(tx, event.event_id, [(data["lot_id"], item["lot_id"], item["mass_g"]) for item in data["outputs"]])
        return [data["lot_id"], *(item["lot_id"] for item in data["outputs"])]

    def _lot_assayed(self, tx, event, envelope, data, key):
        self._latest(tx, data["lot_id"], assay_fineness=data["fineness"], assay_sort=key)
        tx.execute(t.assays.insert().values(
            event_id=event.event_id, lot_id=data["lot_id"], fineness=data["fineness"],
            method=data.get("method"), sort_key=key,
        ))
        return [data["lot_id"]]

    def _lot_exported(self, tx, event, envelope, data, key):
        self._placeholders(tx, [data["lot_id"]])
        tx.execute(t.exports.insert().values(
            event_id=event.event_id, lot_id=data["lot_id"], export_permit=data["export_permit"],
            destination_country=data["destination_country"], recorded_by=envelope["recorded_by"],
            occurred_at=envelope["occurred_at"],
        ))
        return [data["lot_id"]]

    def _lot_refined(self, tx, event, envelope, data, key):
        refining = refining_node_id(event.event_id)
        inputs, outputs = data["inputs"], data["outputs"]
        self._placeholders(tx, [item["lot_id"] for item in inputs])
        self._create_node(tx, refining, "refining", event, envelope, key,
                          mass_g=round(sum(item["mass_g"] for item in inputs), 6))
        for item in outputs:
            self._create_node(tx, item["lot_id"], "lot", event, envelope, key, mass_g=item["mass_g"],
                              declared_fineness=item["fineness"])
        self._edges(tx, event.event_id,
                    [(item["lot_id"], refining, item["mass_g"]) for item in inputs]
                    + [(refining, item["lot_id"], item["mass_g"]) for item in outputs])
        return [refining, *(item["lot_id"] for item in inputs), *(item["lot_id"] for item in outputs)]

    def _product_manufactured(self, tx, event, envelope, data, key):
        inputs = data["inputs"]
        self._placeholders(tx, [item["lot_id"] for item in inputs])
        self._create_node(tx, data["product_id"], "product", event, envelope, key, mass_g=data["mass_g"],
                          declared_fineness=data["fineness"], gtin=data.get("gtin"), serial=data.get("serial"),
                          description=data.get("description"))
        self._edges(tx, event.event_id, [(item["lot_id"], data["product_id"], item["mass_g"]) for item in inputs])
        return [data["product_id"], *(item["lot_id"] for item in inputs)]

    def _product_sold(self, tx, event, envelope, data, key):
        insert_ignore(tx, t.nodes, [{"node_id": data["product_id"], "kind": "product"}])
        tx.execute(t.sales.insert().values(
            event_id=event.event_id, product_id=data["product_id"], price=data.get("price"),
            currency=data.get("currency"), recorded_by=envelope["recorded_by"],
            occurred_at=envelope["occurred_at"], sort_key=key,
        ))
        return [data["product_id"]]
