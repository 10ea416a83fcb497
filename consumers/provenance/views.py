"""Read side of the provenance model: a product's provenance (and the sections other models add to
it), a lot, a lot's events.

The API reads through these functions; each answer is plain JSON-ready data, with restricted
fields (names, photo-ID hashes, coordinates) only for principals allowed to see them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable

import orjson

from sqlalchemy import Connection, Engine, select

from consumers.lineage.ancestry import in_ancestry
from consumers.provenance import signatures
from consumers.provenance import tables as t
from consumers.provenance.history_views import timeline_condition, timeline_of_nodes
from consumers.provenance.lineage import EdgeFacts, NodeFacts, compute_lineage, is_untraced
from consumers.sql import among
from events.signing import SigningKey
from services.auth import Principal
from services.database import read_snapshot


@dataclass(frozen=True)
class TimelinePage:
    """One page of a product's timeline: its events (one pre-serialised JSON array), how many, and
    the sort key of its last event when more follow (None on the last page)."""

    events: orjson.Fragment
    count: int
    last_sort_key: str | None


@dataclass(frozen=True)
class PagedProvenance:
    """A product's provenance as the API builds its answer from one snapshot of the read model."""

    #: the answer, its ``timeline`` a list of events as dicts (what the sections read)
    provenance: dict[str, Any]
    #: the timeline's first page, ready-made JSON
    first_page: TimelinePage
    #: the whole timeline, one ready-made JSON array
    timeline: orjson.Fragment


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


class ProvenanceView:
    """Queries over the provenance read model."""

    def __init__(self, engine: Engine):
        self.engine = engine

    # -- product ----------------------------------------------------------------------------
    def product_provenance(self, product_id: str, sees_restricted: bool = False,
                           raw_timeline: bool = False) -> dict[str, Any] | None:
        """The provenance of a product, or None if no such product was manufactured.

        With ``raw_timeline`` the timeline is one pre-serialised ``orjson.Fragment`` (for the API's
        response); otherwise a list of dicts.
        """
        found = self._product(product_id, sees_restricted)
        if found is None:
            return None
        answer, timeline_rows = found
        answer["timeline"] = self._events_out([row[:2] for row in timeline_rows], sees_restricted, raw_timeline)
        return answer

    def product_provenance_paged(self, product_id: str, sees_restricted: bool,
                                 page_size: int) -> PagedProvenance | None:
        """The provenance of a product for the API, read in one snapshot: the answer with its timeline
        as a list of events (what the sections read), the timeline's first page of ``page_size``
        events and the whole timeline, both ready-made JSON."""
        found = self._product(product_id, sees_restricted)
        if found is None:
            return None
        answer, timeline_rows = found
        texts = self._texts([row[:2] for row in timeline_rows], sees_restricted)
        answer["timeline"] = [orjson.loads(text_) for text_ in texts]
        return PagedProvenance(answer, self._page(timeline_rows, sees_restricted, page_size),
                               orjson.Fragment("[" + ",".join(texts) + "]"))

    def _product(self, product_id: str, sees_restricted: bool) -> tuple[dict[str, Any], list[Any]] | None:
        """The provenance without its timeline, and the timeline's rows (served, served_public, sort_key).

        The ancestry is found once (the recursive query of the lineage edges); the nodes and the
        timeline are then read by its ids."""
        with read_snapshot(self.engine) as connection:
            product = connection.execute(select(t.nodes).where(t.nodes.c.node_id == product_id)).mappings().first()
            if product is None or product["kind"] != "product" or product["created_event_id"] is None:
                return None
            graph = self._ancestry_graph(connection, product_id)
            timeline_rows = connection.execute(
                select(t.events.c.served, t.events.c.served_public, t.events.c.sort_key)
                .where(timeline_of_nodes(graph["node_ids"]))
                .order_by(t.events.c.sort_key)).all()
            sales = [dict(row) for row in connection.execute(
                select(t.sales.c.event_id, t.sales.c.price, t.sales.c.currency, t.sales.c.recorded_by, t.sales.c.occurred_at)
                .where(t.sales.c.product_id == product_id, t.sales.c.event_id.not_in(t.refused_events()))
                .order_by(t.sales.c.sort_key)
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
        }, timeline_rows

    def _ancestry_graph(self, connection: Connection, root: str) -> dict[str, Any]:
        counted = t.counted_edges()
        e, n = counted.c, t.nodes.c
        edge_rows = connection.execute(
            select(e.event_id, e.parent_id, e.child_id, e.mass_g).where(in_ancestry(e.child_id, counted, [root]))
            .order_by(e.child_id, e.parent_id, e.event_id)).all()
        # the edges into the root and its ancestors: their parents are the ancestors
        node_ids = {root, *(parent for _, parent, _, _ in edge_rows)}
        rows = connection.execute(
            select(n.node_id, n.kind, n.created_event_id, n.created_type, n.created_by, n.created_at, n.mass_g,
                   n.declared_fineness, n.pit_id, n.gtin, n.serial, n.holder_id, n.assay_fineness, t.pits.c.site_id)
            .select_from(t.nodes.outerjoin(t.pits, t.pits.c.pit_id == n.pit_id))
            .where(among(n.node_id, node_ids)).order_by(n.node_id)).all()
        facts: dict[str, NodeFacts] = {}
        for (node_id, kind, _, created_type, _, _, mass_g, declared, _, _, _, _, assayed, site_id) in rows:
            facts[node_id] = NodeFacts(node_id, kind, mass_g, assayed if assayed is not None else declared,
                                       site_id, created_type == "production.recorded")
        edges = [EdgeFacts(parent, child, mass) for _, parent, child, mass in edge_rows]
        lineage = compute_lineage(facts, edges)
        fineness_of = lineage.fineness
        nodes_out = []
        nodes_by_id = {}
        for (node_id, kind, created_event_id, created_type, created_by, created_at, mass_g, declared, pit_id, gtin,
             serial, holder_id, assayed, site_id) in rows:
            fineness = fineness_of.get(node_id)
            source = ("assay" if assayed is not None else "declared" if declared is not None
                      else "derived" if fineness is not None else None)
            node = {
                "id": node_id,
                "kind": kind,
                "recorded": created_event_id is not None,
                "created_by": created_by,
                "created_at": created_at,
                "created_by_event": created_event_id,
                "mass_g": None if mass_g is None else round(mass_g, 6),
                "fineness": None if fineness is None else round(fineness, 6),
                "fineness_source": source,
                "holder_id": holder_id or created_by,
            }
            if kind == "product":
                node["gtin"], node["serial"] = gtin, serial
            if created_type == "production.recorded":
                node["pit_id"], node["site_id"] = pit_id, site_id
            nodes_out.append(node)
            nodes_by_id[node_id] = node
        return {
            "node_ids": node_ids,
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

    def timeline_page(self, product_id: str, sees_restricted: bool, after: str | None,
                      limit: int) -> TimelinePage | None:
        """Up to ``limit`` events of a product's timeline after the one whose sort key is ``after``
        (from the start when None), as one ``orjson.Fragment``; None if no such product."""
        with read_snapshot(self.engine) as connection:
            product = connection.execute(select(t.nodes.c.kind, t.nodes.c.created_event_id)
                                         .where(t.nodes.c.node_id == product_id)).first()
            if product is None or product.kind != "product" or product.created_event_id is None:
                return None
            query = (select(t.events.c.served, t.events.c.served_public, t.events.c.sort_key)
                     .where(timeline_condition(product_id)).order_by(t.events.c.sort_key).limit(limit + 1))
            if after is not None:
                query = query.where(t.events.c.sort_key > after)
            rows = connection.execute(query).all()
        return self._page(rows, sees_restricted, limit)

    def _page(self, rows: list[Any], sees_restricted: bool, limit: int) -> TimelinePage:
        """The first ``limit`` of these (served, served_public, sort_key) rows as a page."""
        page = rows[:limit]
        return TimelinePage(events=self._events_out([row[:2] for row in page], sees_restricted, raw=True),
                            count=len(page), last_sort_key=page[-1][2] if len(rows) > limit else None)

    @staticmethod
    def _texts(rows: Any, sees_restricted: bool) -> list[str]:
        """The JSON of events as this reader sees them, from (served, served_public) rows."""
        return [served if sees_restricted or public is None else public for served, public in rows]

    def _events_out(self, rows: Any, sees_restricted: bool, raw: bool) -> Any:
        """Events as served, from (served, served_public) rows. With ``raw``, one ``orjson.Fragment``
        holding the ready-made JSON array (no parsing and re-encoding of thousands of events);
        otherwise a list of dicts."""
        texts = self._texts(rows, sees_restricted)
        if raw:
            return orjson.Fragment("[" + ",".join(texts) + "]")
        return [orjson.loads(text_) for text_ in texts]

    # -- signing keys -------------------------------------------------------------------------
    def signing_keys(self, key_ids: Iterable[str]) -> dict[str, SigningKey]:
        """The registered signing keys among ``key_ids`` (capture checks signatures against them)."""
        with read_snapshot(self.engine) as connection:
            return signatures.signing_keys(connection, key_ids)

    # -- lot --------------------------------------------------------------------------------
    def lot(self, lot_id: str, sees_restricted: bool = False) -> dict[str, Any] | None:
        """A lot: its mass, fineness, holder, where it came from and what it went into; None if unknown."""
        with read_snapshot(self.engine) as connection:
            row = connection.execute(select(t.nodes).where(t.nodes.c.node_id == lot_id)).mappings().first()
            if row is None or row["kind"] == "product":
                return None
            graph = self._ancestry_graph(connection, lot_id)
            origin = self._origin(connection, graph, lot_id, sees_restricted)
            counted = t.counted_edges()
            consumed = connection.execute(
                select(counted.c.child_id, counted.c.mass_g, counted.c.event_id).where(counted.c.parent_id == lot_id)
                .order_by(counted.c.event_id)
            ).all()
            inputs = [edge for edge in graph["edges"] if edge["to"] == lot_id]
            transfers = [dict(r) for r in connection.execute(
                select(t.transfers.c.event_id, t.transfers.c.from_id, t.transfers.c.to_id, t.transfers.c.mass_g,
                       t.transfers.c.price_per_g, t.transfers.c.currency, t.transfers.c.occurred_at)
                .where(t.transfers.c.lot_id == lot_id, t.transfers.c.event_id.not_in(t.refused_events()))
                .order_by(t.transfers.c.sort_key)).mappings()]
            receipts = [dict(r) for r in connection.execute(
                select(t.receipts.c.event_id, t.receipts.c.mass_g, t.receipts.c.recorded_by, t.receipts.c.occurred_at)
                .where(t.receipts.c.lot_id == lot_id, t.receipts.c.event_id.not_in(t.refused_events()))
                .order_by(t.receipts.c.sort_key)).mappings()]
            exports = [dict(r) for r in connection.execute(
                select(t.exports.c.event_id, t.exports.c.export_permit, t.exports.c.destination_country,
                       t.exports.c.recorded_by, t.exports.c.occurred_at)
                .where(t.exports.c.lot_id == lot_id, t.exports.c.event_id.not_in(t.refused_events()))
                .order_by(t.exports.c.occurred_at)).mappings()]
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
                select(t.events.c.served, t.events.c.served_public)
                .join(t.event_subjects, t.event_subjects.c.event_id == t.events.c.event_id)
                .where(t.event_subjects.c.subject_id == lot_id).order_by(t.events.c.sort_key)
            ).all()
        return self._events_out(rows, sees_restricted, raw=False)


#: a section that another read model adds to a product's provenance (``flags``, ``due_diligence``,
#: ``impact``): ``section(product_id, provenance, principal) -> {key: value}``
ProvenanceSection = Callable[[str, dict[str, Any], Principal], dict[str, Any]]


def with_sections(product_id: str, provenance: dict[str, Any], principal: Principal,
                  sections: Iterable[ProvenanceSection]) -> dict[str, Any]:
    """The provenance with the keys of each section merged in, in order, as ``principal`` may see them."""
    for section in sections:
        provenance.update(section(product_id, provenance, principal))
    return provenance
