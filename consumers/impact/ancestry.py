"""Reading a piece's ancestry from the impact tables: lineage facts for payouts and the value chain."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Collection

from sqlalchemy import Connection, select

from consumers.impact import tables as t
from consumers.lineage.ancestry import in_ancestry, in_descendants
from consumers.provenance.lineage import EdgeFacts, Lineage, NodeFacts, compute_lineage


@dataclass
class Ancestry:
    """A node's ancestry: the lineage arithmetic by production lot, each lot's miners and month."""

    lineage: Lineage
    node_ids: list[str]
    lot_miners: dict[str, list[str]]
    lot_month: dict[str, str]


def load_ancestry(connection: Connection, root: str) -> Ancestry:
    """The ancestry of ``root``; composition is keyed by production lot (not by site)."""
    counted = t.counted_edges()
    e, n, a, p = counted.c, t.nodes.c, t.assays.c, t.production_shares.c
    edge_rows = connection.execute(select(e.parent_id, e.child_id, e.mass_g).where(in_ancestry(e.child_id, counted, [root]))
                                   .order_by(e.child_id, e.parent_id, e.event_id)).all()
    node_rows = connection.execute(select(n.node_id, n.kind, n.created_type, n.created_event_id, n.mass_g,
                                          n.declared_fineness)
                                   .where(in_ancestry(n.node_id, counted, [root])).order_by(n.node_id)).all()
    # only counted assays (by the lot's holder or an independent party): a rival's fineness changes nothing
    assay_rows = connection.execute(select(a.lot_id, a.fineness).where(in_ancestry(a.lot_id, counted, [root]),
                                                                       a.event_id.not_in(t.refused_events()))
                                    .order_by(a.sort_key)).all()
    share_rows = connection.execute(select(p.lot_id, p.event_id, p.miner_id, p.month)
                                    .where(in_ancestry(p.lot_id, counted, [root])).order_by(p.lot_id, p.miner_id)).all()
    latest_assay = {lot_id: fineness for lot_id, fineness in assay_rows}  # ordered: the last wins
    creator = {row.node_id: row.created_event_id for row in node_rows}
    lot_miners: dict[str, list[str]] = {}
    lot_month: dict[str, str] = {}
    for lot_id, event_id, miner_id, month in share_rows:
        if creator.get(lot_id) == event_id:  # a lot claimed twice: the earliest production counts
            lot_miners.setdefault(lot_id, []).append(miner_id)
            lot_month[lot_id] = month
    facts = {}
    for row in node_rows:
        production = row.created_type == "production.recorded"
        facts[row.node_id] = NodeFacts(
            node_id=row.node_id, kind=row.kind, mass_g=row.mass_g,
            stated_fineness=latest_assay.get(row.node_id, row.declared_fineness),
            site_id=row.node_id if production else None, is_production=production,
        )
    edges = [EdgeFacts(parent, child, mass) for parent, child, mass in edge_rows]
    lineage = compute_lineage(facts, edges)
    return Ancestry(lineage, sorted(set(facts) | {root}), lot_miners, lot_month)


def sold_descendants(connection: Connection, node_ids: Collection[str]) -> list[str]:
    """The sold products whose ancestry holds one of ``node_ids`` (themselves included), sorted.

    Over every edge, counted or not: recomputing a product more often than needed is harmless.
    """
    s = t.sales.c
    return list(connection.execute(select(s.product_id).where(in_descendants(s.product_id, t.edges, node_ids))
                                   .distinct().order_by(s.product_id)).scalars())
