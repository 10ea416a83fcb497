"""Read side of the provenance model: a product's provenance, a lot, a lot's events.

The API reads through these functions; each answer is plain JSON-ready data, with restricted
fields (names, photo-ID hashes, coordinates) only for principals allowed to see them.
"""
from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, Engine, select, text

from consumers.provenance import tables as t
from consumers.provenance.lineage import EdgeFacts, NodeFacts, compute_lineage, is_untraced
from events.catalogue import RESTRICTED_FIELDS
from services.database import read_snapshot

#: the node and everything upstream of it; the seed is read from the table (not a bare parameter) so
#: both terms have the column's own type and collation, as PostgreSQL requires of a recursive query
_ANCESTRY = """
WITH RECURSIVE ancestry(node_id) AS (
    SELECT node_id FROM prov_nodes WHERE node_id = :root
    UNION
    SELECT e.parent_id FROM prov_edges e JOIN ancestry a ON e.child_id = a.node_id
)
"""


def redact(envelope: dict[str, Any], sees_restricted: bool) -> dict[str, Any]:
    """The envelope without the restricted fields of its type, unless the reader may see them."""
    hidden = RESTRICTED_FIELDS.get(envelope.get("type", ""))
    if sees_restricted or not hidden or not hidden & envelope.get("data", {}).keys():
        return envelope
    return {**envelope, "data": {key: value for key, value in envelope["data"].items() if key not in hidden}}


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


class ProvenanceView:
    """Queries over the provenance read model."""

    def __init__(self, engine: Engine):
        self.engine = engine

    # -- product ----------------------------------------------------------------------------
    def product_provenance(self, product_id: str, sees_restricted: bool = False) -> dict[str, Any] | None:
        """The provenance of a product, or None if no such product was manufactured."""
        with read_snapshot(self.engine) as connection:
            product = connection.execute(select(t.nodes).where(t.nodes.c.node_id == product_id)).mappings().first()
            if product is None or product["kind"] != "product" or product["created_event_id"] is None:
                return None
            graph = self._ancestry_graph(connection, product_id)
            timeline = self._timeline(connection, product_id, sees_restricted)
            sales = [dict(row) for row in connection.execute(
                select(t.sales.c.event_id, t.sales.c.price, t.sales.c.currency, t.sales.c.recorded_by, t.sales.c.occurred_at)
                .where(t.sales.c.product_id == product_id).order_by(t.sales.c.sort_key)
            ).mappings()]
            origin = self._origin(connection, graph, product_id, sees_restricted)
        root = graph["nodes_by_id"][product_id]
        return {
            "product": {
                "product_id": product_id,
                "gtin": product["gtin"],
                "serial": product["serial"],
                "description": product["description"],
                "mass_g": product["mass_g"],
                "fineness": product["declared_fineness"],
                "fine_g": _round((product["mass_g"] or 0) * (product["declared_fineness"] or 0)),
                "manufactured_by": product["created_by"],
                "manufactured_at": product["created_at"],
                "holder_id": root["holder_id"],
                "sales": sales,
            },
            "origin": origin["sites"],
            "origin_basis": origin["basis"],
            "lineage": {"nodes": graph["nodes"], "edges": graph["edges"]},
            "timeline": timeline,
        }

    def _ancestry_graph(self, connection: Connection, root: str) -> dict[str, Any]:
        params = {"root": root}
        edge_rows = connection.execute(text(
            _ANCESTRY + "SELECT e.event_id, e.parent_id, e.child_id, e.mass_g FROM prov_edges e "
            "WHERE e.child_id IN (SELECT node_id FROM ancestry) ORDER BY e.child_id, e.parent_id, e.event_id"
        ), params).all()
        node_rows = connection.execute(text(
            _ANCESTRY + "SELECT n.*, p.site_id AS site_id FROM prov_nodes n LEFT JOIN prov_pits p ON p.pit_id = n.pit_id "
            "WHERE n.node_id IN (SELECT node_id FROM ancestry)"
        ), params).mappings().all()
        assay_rows = connection.execute(text(
            _ANCESTRY + "SELECT a.lot_id, a.fineness, a.sort_key FROM prov_assays a "
            "WHERE a.lot_id IN (SELECT node_id FROM ancestry) ORDER BY a.sort_key"
        ), params).all()
        transfer_rows = connection.execute(text(
            _ANCESTRY + "SELECT x.lot_id, x.to_id, x.sort_key FROM prov_transfers x "
            "WHERE x.lot_id IN (SELECT node_id FROM ancestry) ORDER BY x.sort_key"
        ), params).all()
        latest_assay = {lot_id: fineness for lot_id, fineness, _ in assay_rows}  # ordered: the last wins
        holder = {lot_id: to_id for lot_id, to_id, _ in transfer_rows}
        facts: dict[str, NodeFacts] = {}
        for row in node_rows:
            facts[row["node_id"]] = NodeFacts(
                node_id=row["node_id"], kind=row["kind"], mass_g=row["mass_g"],
                stated_fineness=latest_assay.get(row["node_id"], row["declared_fineness"]),
                site_id=row["site_id"], is_production=row["created_type"] == "production.recorded",
            )
        edges = [EdgeFacts(parent, child, mass) for _, parent, child, mass in edge_rows]
        lineage = compute_lineage(facts, edges)
        nodes_out = []
        nodes_by_id = {}
        for row in sorted(node_rows, key=lambda r: r["node_id"]):
            node_id = row["node_id"]
            fineness = lineage.fineness.get(node_id)
            source = ("assay" if node_id in latest_assay else "declared" if row["declared_fineness"] is not None
                      else "derived" if fineness is not None else None)
            node = {
                "id": node_id,
                "kind": row["kind"],
                "recorded": row["created_event_id"] is not None,
                "created_by": row["created_by"],
                "created_at": row["created_at"],
                "created_by_event": row["created_event_id"],
                "mass_g": row["mass_g"],
                "fineness": _round(fineness, 6),
                "fineness_source": source,
                "holder_id": holder.get(node_id, row["created_by"]),
            }
            if row["kind"] == "product":
                node.update(gtin=row["gtin"], serial=row["serial"])
            if row["created_type"] == "production.recorded":
                node.update(pit_id=row["pit_id"], site_id=row["site_id"])
            nodes_out.append(node)
            nodes_by_id[node_id] = node
        return {
            "nodes": nodes_out,
            "nodes_by_id": nodes_by_id,
            "edges": [{"from": parent, "to": child, "mass_g": mass, "event_id": event_id}
                      for event_id, parent, child, mass in edge_rows],
            "lineage": lineage,
        }

    def _origin(self, connection: Connection, graph: dict[str, Any], node_id: str, sees_restricted: bool) -> dict[str, Any]:
        lineage = graph["lineage"]
        composition = lineage.composition.get(node_id, {})
        node = graph["nodes_by_id"].get(node_id, {})
        fineness = lineage.fineness.get(node_id)
        fine_total = (node.get("mass_g") or 0) * fineness if fineness is not None else None
        site_ids = [source for source in composition if not is_untraced(source)]
        site_rows = {row["site_id"]: row for row in connection.execute(
            select(t.sites).where(t.sites.c.site_id.in_(site_ids))
        ).mappings()} if site_ids else {}
        sites = []
        for source, share in sorted(composition.items(), key=lambda item: (-item[1], item[0])):
            entry: dict[str, Any] = {"share": round(share, 6),
                                     "fine_g": _round(share * fine_total) if fine_total is not None else None}
            if is_untraced(source):
                entry.update(site_id=None, untraced=source.split(":", 1)[1])
            else:
                site = site_rows.get(source)
                entry.update(site_id=source, registered=site is not None)
                if site is not None:
                    entry.update(name=site["name"], country=site["country"], region=site["region"], mineral=site["mineral"])
                    if sees_restricted:
                        entry.update(latitude=site["latitude"], longitude=site["longitude"])
            sites.append(entry)
        basis = "gross_mass_where_unassayed" if lineage.gross_weighted else "fine_gold"
        return {"sites": sites, "basis": basis}

    def _timeline(self, connection: Connection, root: str, sees_restricted: bool) -> list[dict[str, Any]]:
        rows = connection.execute(text(
            # a semi-join: no DISTINCT over the wide rows (bodies) of events about several ancestors
            _ANCESTRY + "SELECT ev.position, ev.recorded_at, ev.hash, ev.body, ev.sort_key FROM prov_events ev "
            "WHERE ev.event_id IN (SELECT s.event_id FROM prov_event_subjects s "
            "WHERE s.subject_id IN (SELECT node_id FROM ancestry)) ORDER BY ev.sort_key"
        ), {"root": root}).all()
        return [self._event_out(row, sees_restricted) for row in rows]

    @staticmethod
    def _event_out(row: Any, sees_restricted: bool) -> dict[str, Any]:
        envelope = redact(json.loads(row.body), sees_restricted)
        return {**envelope, "recorded_at": row.recorded_at, "position": row.position, "hash": row.hash}

    # -- lot --------------------------------------------------------------------------------
    def lot(self, lot_id: str, sees_restricted: bool = False) -> dict[str, Any] | None:
        """A lot: its mass, fineness, holder, where it came from and what it went into; None if unknown."""
        with read_snapshot(self.engine) as connection:
            row = connection.execute(select(t.nodes).where(t.nodes.c.node_id == lot_id)).mappings().first()
            if row is None or row["kind"] == "product":
                return None
            graph = self._ancestry_graph(connection, lot_id)
            origin = self._origin(connection, graph, lot_id, sees_restricted)
            consumed = connection.execute(
                select(t.edges.c.child_id, t.edges.c.mass_g, t.edges.c.event_id).where(t.edges.c.parent_id == lot_id)
                .order_by(t.edges.c.event_id)
            ).all()
            inputs = [edge for edge in graph["edges"] if edge["to"] == lot_id]
            transfers = [dict(r) for r in connection.execute(
                select(t.transfers.c.event_id, t.transfers.c.from_id, t.transfers.c.to_id, t.transfers.c.mass_g,
                       t.transfers.c.price_per_g, t.transfers.c.currency, t.transfers.c.occurred_at)
                .where(t.transfers.c.lot_id == lot_id).order_by(t.transfers.c.sort_key)).mappings()]
            receipts = [dict(r) for r in connection.execute(
                select(t.receipts.c.event_id, t.receipts.c.mass_g, t.receipts.c.recorded_by, t.receipts.c.occurred_at)
                .where(t.receipts.c.lot_id == lot_id).order_by(t.receipts.c.sort_key)).mappings()]
            exports = [dict(r) for r in connection.execute(
                select(t.exports.c.event_id, t.exports.c.export_permit, t.exports.c.destination_country,
                       t.exports.c.recorded_by, t.exports.c.occurred_at)
                .where(t.exports.c.lot_id == lot_id).order_by(t.exports.c.occurred_at)).mappings()]
            miners = connection.execute(
                select(t.production_miners.c.miner_id).where(t.production_miners.c.lot_id == lot_id)
                .order_by(t.production_miners.c.miner_id)).scalars().all()
        node = graph["nodes_by_id"][lot_id]
        return {
            **node,
            "lot_id": lot_id,
            "miner_ids": list(miners),
            "inputs": [{"lot_id": edge["from"], "mass_g": edge["mass_g"], "event_id": edge["event_id"]} for edge in inputs],
            "consumed_into": [{"node_id": child, "mass_g": mass, "event_id": event_id} for child, mass, event_id in consumed],
            "status": "consumed" if consumed else "available",
            "transfers": transfers,
            "receipts": receipts,
            "exports": exports,
            "origin": origin["sites"],
            "origin_basis": origin["basis"],
        }

    def lot_events(self, lot_id: str, sees_restricted: bool = False) -> list[dict[str, Any]] | None:
        """Every event about this lot itself, in the order they happened; None if the lot is unknown."""
        with read_snapshot(self.engine) as connection:
            row = connection.execute(select(t.nodes.c.kind).where(t.nodes.c.node_id == lot_id)).first()
            if row is None or row.kind == "product":
                return None
            rows = connection.execute(
                select(t.events.c.position, t.events.c.recorded_at, t.events.c.hash, t.events.c.body, t.events.c.sort_key)
                .join(t.event_subjects, t.event_subjects.c.event_id == t.events.c.event_id)
                .where(t.event_subjects.c.subject_id == lot_id).order_by(t.events.c.sort_key)
            ).all()
        return [self._event_out(r, sees_restricted) for r in rows]
