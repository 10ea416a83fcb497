"""The provenance projector: records each custody and registry fact of the log as rows."""
from __future__ import annotations

from datetime import timezone
from typing import Any, Callable

import orjson
from sqlalchemy import Connection, MetaData, or_, select

from consumers.projector import Projector
from consumers.provenance import tables as t
from consumers.sql import WriteBatch
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
        self.apply_batch(tx, [event])

    def apply_batch(self, tx: Connection, events: list[RecordedEvent]) -> None:
        """Record the facts of a batch with one statement per kind of row; duplicates change nothing."""
        fresh = self._not_yet_seen(tx, events)
        if not fresh:
            return
        batch = WriteBatch()
        for event in fresh:
            envelope = event.envelope
            key = sort_key(envelope["occurred_at"], event.event_id)
            handler: Callable[..., list[str]] = getattr(self, "_" + event.type.replace(".", "_"))
            subjects = handler(batch, event, envelope, envelope["data"], key)
            batch.insert(t.events, {
                "event_id": event.event_id, "position": event.position, "type": event.type, "sort_key": key,
                "recorded_at": event.recorded_at, "hash": event.hash, **served_forms(event, envelope),
            })
            batch.insert_ignore(t.event_subjects, (
                {"subject_id": subject, "event_id": event.event_id} for subject in dict.fromkeys(subjects)
            ))
        batch.flush(tx)

    @staticmethod
    def _not_yet_seen(tx: Connection, events: list[RecordedEvent]) -> list[RecordedEvent]:
        """The events of the batch not applied before (nor earlier in the same batch)."""
        ids = list({event.event_id for event in events})
        seen: set[str] = set()
        for start in range(0, len(ids), 500):
            seen.update(tx.execute(select(t.events.c.event_id).where(t.events.c.event_id.in_(ids[start:start + 500]))).scalars())
        fresh = []
        for event in events:
            if event.event_id not in seen:
                seen.add(event.event_id)
                fresh.append(event)
        return fresh

    # -- helpers ----------------------------------------------------------------------------
    @staticmethod
    def _create_node(batch: WriteBatch, node_id: str, kind: str, event: RecordedEvent, envelope: dict, key: str,
                     **facts: Any) -> None:
        """Create a node, or fill a placeholder; if two events claim to create it, the earliest wins."""
        row = {
            "node_id": node_id, "kind": kind, "created_event_id": event.event_id, "created_sort": key,
            "created_type": event.type, "created_by": envelope["recorded_by"], "created_at": envelope["occurred_at"],
            "mass_g": None, "declared_fineness": None, "pit_id": None, "gtin": None, "serial": None, "description": None,
            **facts,
        }
        batch.upsert(t.nodes, row, update=[name for name in row if name != "node_id"], where_name="earliest",
                     where=lambda excluded: or_(t.nodes.c.created_sort.is_(None), excluded.created_sort < t.nodes.c.created_sort))

    @staticmethod
    def _latest(batch: WriteBatch, node_id: str, **values: Any) -> None:
        """Keep on the node the values of the latest event of one kind (by sort key): order free."""
        sort_column = next(name for name in values if name.endswith("_sort"))
        batch.upsert(t.nodes, {"node_id": node_id, "kind": "lot", **values}, update=list(values), where_name="latest",
                     where=lambda excluded: or_(t.nodes.c[sort_column].is_(None), excluded[sort_column] > t.nodes.c[sort_column]))

    @staticmethod
    def _placeholders(batch: WriteBatch, node_ids: list[str], kind: str = "lot") -> None:
        batch.insert_ignore(t.nodes, ({"node_id": node_id, "kind": kind} for node_id in node_ids))

    @staticmethod
    def _edges(batch: WriteBatch, event_id: str, links: list[tuple[str, str, float]]) -> None:
        batch.insert_ignore(t.edges, (
            {"event_id": event_id, "parent_id": parent, "child_id": child, "mass_g": mass} for parent, child, mass in links
        ))

    # -- registry ---------------------------------------------------------------------------
    def _organization_registered(self, batch, event, envelope, data, key):
        batch.upsert(t.organisations, dict(data), update=("name", "role", "country"))
        return []

    def _site_registered(self, batch, event, envelope, data, key):
        row = {"latitude": None, "longitude": None, "licence": None, **data}
        batch.upsert(t.sites, row, update=("name", "country", "region", "mineral", "latitude", "longitude", "licence"))
        return []

    def _pit_registered(self, batch, event, envelope, data, key):
        row = {"capacity_g_per_month": None, **data}
        batch.upsert(t.pits, row, update=("site_id", "capacity_g_per_month"))
        return []

    def _miner_registered(self, batch, event, envelope, data, key):
        row = {"name": None, "photo_id_sha256": None, **data}
        batch.upsert(t.miners, row, update=("cooperative_id", "site_id", "gender", "birth_year", "work_role", "name",
                                            "photo_id_sha256"))
        return []

    # -- custody ----------------------------------------------------------------------------
    def _production_recorded(self, batch, event, envelope, data, key):
        self._create_node(batch, data["lot_id"], "lot", event, envelope, key, mass_g=data["mass_g"],
                          declared_fineness=data.get("fineness"), pit_id=data["pit_id"])
        batch.insert_ignore(t.production_miners, (
            {"event_id": event.event_id, "miner_id": miner_id, "lot_id": data["lot_id"]} for miner_id in data["miner_ids"]
        ))
        return [data["lot_id"]]

    def _lot_transferred(self, batch, event, envelope, data, key):
        self._latest(batch, data["lot_id"], holder_id=data["to_id"], holder_sort=key)
        batch.insert(t.transfers, {
            "event_id": event.event_id, "lot_id": data["lot_id"], "from_id": data["from_id"], "to_id": data["to_id"],
            "mass_g": data["mass_g"], "price_per_g": data.get("price_per_g"), "currency": data.get("currency"),
            "occurred_at": envelope["occurred_at"], "sort_key": key,
        })
        return [data["lot_id"]]

    def _lot_received(self, batch, event, envelope, data, key):
        self._placeholders(batch, [data["lot_id"]])
        batch.insert(t.receipts, {
            "event_id": event.event_id, "lot_id": data["lot_id"], "mass_g": data["mass_g"],
            "recorded_by": envelope["recorded_by"], "occurred_at": envelope["occurred_at"], "sort_key": key,
        })
        return [data["lot_id"]]

    def _lots_merged(self, batch, event, envelope, data, key):
        inputs = data["inputs"]
        self._placeholders(batch, [item["lot_id"] for item in inputs])
        self._create_node(batch, data["lot_id"], "lot", event, envelope, key,
                          mass_g=round(sum(item["mass_g"] for item in inputs), 6))
        self._edges(batch, event.event_id, [(item["lot_id"], data["lot_id"], item["mass_g"]) for item in inputs])
        return [data["lot_id"], *(item["lot_id"] for item in inputs)]

    def _lot_split(self, batch, event, envelope, data, key):
        self._placeholders(batch, [data["lot_id"]])
        for item in data["outputs"]:
            self._create_node(batch, item["lot_id"], "lot", event, envelope, key, mass_g=item["mass_g"])
        self._edges(batch, event.event_id, [(data["lot_id"], item["lot_id"], item["mass_g"]) for item in data["outputs"]])
        return [data["lot_id"], *(item["lot_id"] for item in data["outputs"])]

    def _lot_assayed(self, batch, event, envelope, data, key):
        self._latest(batch, data["lot_id"], assay_fineness=data["fineness"], assay_sort=key)
        batch.insert(t.assays, {
            "event_id": event.event_id, "lot_id": data["lot_id"], "fineness": data["fineness"],
            "method": data.get("method"), "sort_key": key,
        })
        return [data["lot_id"]]

    def _lot_exported(self, batch, event, envelope, data, key):
        self._placeholders(batch, [data["lot_id"]])
        batch.insert(t.exports, {
            "event_id": event.event_id, "lot_id": data["lot_id"], "export_permit": data["export_permit"],
            "destination_country": data["destination_country"], "recorded_by": envelope["recorded_by"],
            "occurred_at": envelope["occurred_at"],
        })
        return [data["lot_id"]]

    def _lot_refined(self, batch, event, envelope, data, key):
        refining = refining_node_id(event.event_id)
        inputs, outputs = data["inputs"], data["outputs"]
        self._placeholders(batch, [item["lot_id"] for item in inputs])
        self._create_node(batch, refining, "refining", event, envelope, key,
                          mass_g=round(sum(item["mass_g"] for item in inputs), 6))
        for item in outputs:
            self._create_node(batch, item["lot_id"], "lot", event, envelope, key, mass_g=item["mass_g"],
                              declared_fineness=item["fineness"])
        self._edges(batch, event.event_id,
                    [(item["lot_id"], refining, item["mass_g"]) for item in inputs]
                    + [(refining, item["lot_id"], item["mass_g"]) for item in outputs])
        return [refining, *(item["lot_id"] for item in inputs), *(item["lot_id"] for item in outputs)]

    def _product_manufactured(self, batch, event, envelope, data, key):
        inputs = data["inputs"]
        self._placeholders(batch, [item["lot_id"] for item in inputs])
        self._create_node(batch, data["product_id"], "product", event, envelope, key, mass_g=data["mass_g"],
                          declared_fineness=data["fineness"], gtin=data.get("gtin"), serial=data.get("serial"),
                          description=data.get("description"))
        self._edges(batch, event.event_id, [(item["lot_id"], data["product_id"], item["mass_g"]) for item in inputs])
        return [data["product_id"], *(item["lot_id"] for item in inputs)]

    def _product_sold(self, batch, event, envelope, data, key):
        self._placeholders(batch, [data["product_id"]], kind="product")
        batch.insert(t.sales, {
            "event_id": event.event_id, "product_id": data["product_id"], "price": data.get("price"),
            "currency": data.get("currency"), "recorded_by": envelope["recorded_by"],
            "occurred_at": envelope["occurred_at"], "sort_key": key,
        })
        return [data["product_id"]]
