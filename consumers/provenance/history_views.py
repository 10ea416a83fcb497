"""Which events make up a product's history: what its evidence bundle proves.

Its timeline (every counted event that touched a node of its ancestry, the same query the
provenance answer serves) and every registration recorded for the pits, sites and miners its gold
came from (whoever recorded them: a conflicting claim is evidence too).
"""
from __future__ import annotations

from typing import Collection

from sqlalchemy import ColumnElement, Engine, and_, or_, select

from consumers.lineage.ancestry import in_ancestry
from consumers.provenance import tables as t
from consumers.sql import among
from services.database import read_snapshot


def timeline_condition(root: str) -> ColumnElement[bool]:
    """The rows of ``prov_events`` in the timeline of ``root``: events about its ancestry that count
    (a refused claim is evidence, ``/v1/findings``, not history)."""
    return _counted_events_about(in_ancestry(t.event_subjects.c.subject_id, t.counted_edges(), [root]))


def timeline_of_nodes(node_ids: Collection[str]) -> ColumnElement[bool]:
    """The same rows when the ancestry is known already: events about any of ``node_ids`` (a root and
    its ancestors) that count, without running the ancestry query again."""
    return _counted_events_about(among(t.event_subjects.c.subject_id, node_ids))


def _counted_events_about(subject_filter: ColumnElement[bool]) -> ColumnElement[bool]:
    subjects = select(t.event_subjects.c.event_id).where(subject_filter)
    return and_(t.events.c.event_id.in_(subjects), t.events.c.event_id.not_in(t.refused_events()))


class HistoryView:
    """The event ids of a product's history, from the provenance read model."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def product_history(self, product_id: str) -> list[str] | None:
        """The origin's registrations, then the timeline, each in the order things happened; None if no such product."""
        n, claims, miners = t.nodes.c, t.registry_claims.c, t.production_miners.c
        with read_snapshot(self.engine) as connection:
            product = connection.execute(select(n.kind, n.created_event_id).where(n.node_id == product_id)).first()
            if product is None or product.kind != "product" or product.created_event_id is None:
                return None
            pits = connection.execute(select(n.pit_id).distinct().where(
                in_ancestry(n.node_id, t.counted_edges(), [product_id]), n.pit_id.is_not(None))).scalars().all()
            workers = connection.execute(select(miners.miner_id).distinct().where(
                in_ancestry(miners.lot_id, t.counted_edges(), [product_id]))).scalars().all()
            sites = connection.execute(select(t.pits.c.site_id).distinct()
                                       .where(t.pits.c.pit_id.in_(pits))).scalars().all() if pits else []
            entities = [("pit", pits), ("site", sites), ("miner", workers)]
            registrations = connection.execute(
                select(claims.event_id).where(or_(*(
                    and_(claims.entity_kind == kind, claims.entity_id.in_(ids)) for kind, ids in entities if ids)))
                .order_by(claims.sort_key)).scalars().all() if pits or workers else []
            timeline = connection.execute(select(t.events.c.event_id).where(timeline_condition(product_id))
                                          .order_by(t.events.c.sort_key)).scalars().all()
        return list(dict.fromkeys([*registrations, *timeline]))
