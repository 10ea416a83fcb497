"""The provenance projector: records each custody and registry fact of the log as rows."""
from __future__ import annotations

from datetime import timezone
from typing import Any, Callable, Sequence

import orjson
from sqlalchemy import Connection, MetaData, or_

from consumers.projector import Projector
from consumers.provenance import tables as t
from consumers.batch import BatchWrites, unseen_events
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

    def apply_batch(self, tx: Connection, events: Sequence[RecordedEvent]) -> None:
        """Record the facts of ``events`` in a few statements per table; events already recorded are skipped.

        Every write of this read model is order tolerant (see ``consumers.batch``), so gathering a
        batch's rows per table gives the same tables as applying its events one by one.
        """
        writes = BatchWrites()
        for event in unseen_events(tx, events, t.events.c.event_id):
            self.gather(writes, event)
        writes.flush(tx)

    def gather(self, writes: BatchWrites, event: RecordedEvent) -> None:
        """Add the rows of one event (not recorded before) to ``writes``."""
        envelope = event.envelope
        key = sort_key(envelope["occurred_at"], event.event_id)
        handler: Callable[..., list[str]] = getattr(self, "_" + event.type.replace(".", "_"))
        subjects = handler(writes, event, envelope, envelope["data"], key)
        writes.insert(t.events, dict(
            event_id=event.event_id, position=event.position, type=event.type, sort_key=key,
            recorded_at=event.recorded_at, hash=event.hash, **served_forms(event, envelope),
        ))
        writes.insert_ignore(t.event_subjects, ({"subject_id": subject, "event_id": event.event_id} for subject in set(subjects)))

    # -- helpers ----------------------------------------------------------------------------
    @staticmethod
    def _create_node(writes: BatchWrites, node_id: str, kind: str, event: RecordedEvent, envelope: dict, key: str,
                     **facts: Any) -> None:
        """Create a node, or fill a placeholder; if two events claim to create it, the earliest wins."""
        row = {
            "node_id": node_id, "kind": kind, "created_event_id": event.event_id, "created_sort": key,
            "created_type": event.type, "created_by": envelope["recorded_by"], "created_at": envelope["occurred_at"],
            "mass_g": None, "declared_fineness": None, "pit_id": None, "gtin": None, "serial": None, "description": None,
            **facts,
        }
        writes.upsert(t.nodes, row, update=[name for name in row if name != "node_id"], group="created",
                      where=lambda excluded: or_(t.nodes.c.created_sort.is_(None), excluded.created_sort < t.nodes.c.created_sort),
                      prefer=_earliest_creation)

    @staticmethod
    def _latest(writes: BatchWrites, node_id: str, **values: Any) -> None:
        """Keep on the node the values of the latest event of one kind (by sort key): order free."""
        sort_column = next(name for name in values if name.endswith("_sort"))
        writes.upsert(t.nodes, {"node_id": node_id, "kind": "lot", **values}, update=list(values), group=sort_column,
                      where=lambda excluded: or_(t.nodes.c[sort_column].is_(None), excluded[sort_column] > t.nodes.c[sort_column]),
                      prefer=lambda old, new: new if new[sort_column] > old[sort_column] else old)

    @staticmethod
    def _placeholders(writes: BatchWrites, node_ids: list[str], kind: str = "lot") -> None:
        writes.insert_ignore(t.nodes, ({"node_id": node_id, "kind": kind} for node_id in node_ids))

    @staticmethod
    def _edges(writes: BatchWrites, event_id: str, links: list[tuple[str, str, float]]) -> None:
        writes.insert_ignore(t.edges, (
            {"event_id": event_id, "parent_id": parent, "child_id": child, "mass_g": mass} for parent, child, mass in links
        ))

    # -- registry ---------------------------------------------------------------------------
    def _organization_registered(self, writes, event, envelope, data, key):
        writes.upsert(t.organisations, dict(data), update=("name", "role", "country"))
        return []

    def _site_registered(self, writes, event, envelope, data, key):
        row = {"latitude": None, "longitude": None, "licence": None, **data}
        writes.upsert(t.sites, row, update=[name for name in row if name != "site_id"])
        return []

    def _pit_registered(self, writes, event, envelope, data, key):
        row = {"capacity_g_per_month": None, **data}
        writes.upsert(t.pits, row, update=("site_id", "capacity_g_per_month"))
        return []

    def _miner_registered(self, writes, event, envelope, data, key):
        row = {"name": None, "photo_id_sha256": None, **data}
        writes.upsert(t.miners, row, update=[name for name in row if name != "miner_id"])
        return []

    # -- custody ----------------------------------------------------------------------------
    def _production_recorded(self, writes, event, envelope, data, key):
        self._create_node(writes, data["lot_id"], "lot", event, envelope, key, mass_g=data["mass_g"],
                          declared_fineness=data.get("fineness"), pit_id=data["pit_id"])
        writes.insert_ignore(t.production_miners, (
            {"event_id": event.event_id, "miner_id": miner_id, "lot_id": data["lot_id"]} for miner_id in data["miner_ids"]
        ))
        return [data["lot_id"]]

    def _lot_transferred(self, writes, event, envelope, data, key):
        self._latest(writes, data["lot_id"], holder_id=data["to_id"], holder_sort=key)
        writes.insert(t.transfers, dict(
            event_id=event.event_id, lot_id=data["lot_id"], from_id=data["from_id"], to_id=data["to_id"],
            mass_g=data["mass_g"], price_per_g=data.get("price_per_g"), currency=data.get("currency"),
            occurred_at=envelope["occurred_at"], sort_key=key,
        ))
        return [data["lot_id"]]

    def _lot_received(self, writes, event, envelope, data, key):
        self._placeholders(writes, [data["lot_id"]])
        writes.insert(t.receipts, dict(
            event_id=event.event_id, lot_id=data["lot_id"], mass_g=data["mass_g"],
            recorded_by=envelope["recorded_by"], occurred_at=envelope["occurred_at"], sort_key=key,
        ))
        return [data["lot_id"]]

    def _lots_merged(self, writes, event, envelope, data, key):
        inputs = data["inputs"]
        self._placeholders(writes, [item["lot_id"] for item in inputs])
        self._create_node(writes, data["lot_id"], "lot", event, envelope, key,
                          mass_g=round(sum(item["mass_g"] for item in inputs), 6))
        self._edges(writes, event.event_id, [(item["lot_id"], data["lot_id"], item["mass_g"]) for item in inputs])
        return [data["lot_id"], *(item["lot_id"] for item in inputs)]

    def _lot_split(self, writes, event, envelope, data, key):
        self._placeholders(writes, [data["lot_id"]])
        for item in data["outputs"]:
            self._create_node(writes, item["lot_id"], "lot", event, envelope, key, mass_g=item["mass_g"])
        self._edges(writes, event.event_id, [(data["lot_id"], item["lot_id"], item["mass_g"]) for item in data["outputs"]])
        return [data["lot_id"], *(item["lot_id"] for item in data["outputs"])]

    def _lot_assayed(self, writes, event, envelope, data, key):
        self._latest(writes, data["lot_id"], assay_fineness=data["fineness"], assay_sort=key)
        writes.insert(t.assays, dict(
            event_id=event.event_id, lot_id=data["lot_id"], fineness=data["fineness"],
            method=data.get("method"), sort_key=key,
        ))
        return [data["lot_id"]]

    def _lot_exported(self, writes, event, envelope, data, key):
        self._placeholders(writes, [data["lot_id"]])
        writes.insert(t.exports, dict(
            event_id=event.event_id, lot_id=data["lot_id"], export_permit=data["export_permit"],
            destination_country=data["destination_country"], recorded_by=envelope["recorded_by"],
            occurred_at=envelope["occurred_at"],
        ))
        return [data["lot_id"]]

    def _lot_refined(self, writes, event, envelope, data, key):
        refining = refining_node_id(event.event_id)
        inputs, outputs = data["inputs"], data["outputs"]
        self._placeholders(writes, [item["lot_id"] for item in inputs])
        self._create_node(writes, refining, "refining", event, envelope, key,
                          mass_g=round(sum(item["mass_g"] for item in inputs), 6))
        for item in outputs:
            self._create_node(writes, item["lot_id"], "lot", event, envelope, key, mass_g=item["mass_g"],
                              declared_fineness=item["fineness"])
        self._edges(writes, event.event_id,
                    [(item["lot_id"], refining, item["mass_g"]) for item in inputs]
                    + [(refining, item["lot_id"], item["mass_g"]) for item in outputs])
        return [refining, *(item["lot_id"] for item in inputs), *(item["lot_id"] for item in outputs)]

    def _product_manufactured(self, writes, event, envelope, data, key):
        inputs = data["inputs"]
        self._placeholders(writes, [item["lot_id"] for item in inputs])
        self._create_node(writes, data["product_id"], "product", event, envelope, key, mass_g=data["mass_g"],
                          declared_fineness=data["fineness"], gtin=data.get("gtin"), serial=data.get("serial"),
                          description=data.get("description"))
        self._edges(writes, event.event_id, [(item["lot_id"], data["product_id"], item["mass_g"]) for item in inputs])
        return [data["product_id"], *(item["lot_id"] for item in inputs)]

    def _product_sold(self, writes, event, envelope, data, key):
        self._placeholders(writes, [data["product_id"]], kind="product")
        writes.insert(t.sales, dict(
            event_id=event.event_id, product_id=data["product_id"], price=data.get("price"),
            currency=data.get("currency"), recorded_by=envelope["recorded_by"],
            occurred_at=envelope["occurred_at"], sort_key=key,
        ))
        return [data["product_id"]]


def _earliest_creation(kept: dict, new: dict) -> dict:
    """Of two creations of one node in a batch, the earliest (by sort key) wins, as in the database."""
    return new if new["created_sort"] < kept["created_sort"] else kept
