"""The provenance read model's events as EPCIS needs them: a product's history, a query over all.

Only events with an EPCIS counterpart (``services.epcis.mapping.MAPPED_TYPES``) and that count (a
refused claim is evidence, ``/v1/findings``, not history); each as the API serves it, with its
restricted fields only for readers who may see them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

import orjson
from sqlalchemy import Engine, and_, select

from consumers.provenance import tables as t
from consumers.provenance.history_views import timeline_condition
from services.database import read_snapshot
from services.epcis.exporting import ServedEvent
from services.epcis.mapping import MAPPED_TYPES


@dataclass(frozen=True)
class EventQuery:
    """An EPCIS query's filters, as the read model knows them (every field optional)."""

    types: frozenset[str] | None = None
    #: ``sort_key`` bounds: ``[from_key, to_key)``; a key is the UTC time ``%Y-%m-%dT%H:%M:%S.%fZ`` then ``|id``
    from_key: str | None = None
    to_key: str | None = None
    #: lots and products any of which the event is about
    subjects: frozenset[str] | None = None
    #: the sort_key of the last event of the previous page
    after_key: str | None = None


class EpcisView:
    """Served custody events for EPCIS documents."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def product_history(self, product_id: str, sees_restricted: bool) -> list[ServedEvent] | None:
        """The mapped events of a product's timeline (the provenance answer's) as served (JSON texts),
        oldest first; None if no such product."""
        n = t.nodes.c
        with read_snapshot(self.engine) as connection:
            product = connection.execute(select(n.kind, n.created_event_id).where(n.node_id == product_id)).first()
            if product is None or product.kind != "product" or product.created_event_id is None:
                return None
            rows = connection.execute(
                select(t.events.c.event_id, t.events.c.type, t.events.c.served, t.events.c.served_public)
                .where(timeline_condition(product_id), t.events.c.type.in_(MAPPED_TYPES))
                .order_by(t.events.c.sort_key)).all()
        return _served(rows, sees_restricted)

    def query(self, query: EventQuery, limit: int, sees_restricted: bool) -> tuple[list[ServedEvent], str | None]:
        """Up to ``limit`` events matching ``query`` in ``sort_key`` order (served JSON texts), and the
        key of the last if there may be more (the next page starts after it)."""
        e = t.events.c
        types = sorted(query.types if query.types is not None else MAPPED_TYPES)
        conditions = [e.type.in_(types), e.event_id.not_in(t.refused_events())]
        if query.from_key is not None:
            conditions.append(e.sort_key >= query.from_key)
        if query.to_key is not None:
            conditions.append(e.sort_key < query.to_key)
        if query.after_key is not None:
            conditions.append(e.sort_key > query.after_key)
        if query.subjects is not None:
            conditions.append(e.event_id.in_(select(t.event_subjects.c.event_id)
                                              .where(t.event_subjects.c.subject_id.in_(sorted(query.subjects)))))
        with read_snapshot(self.engine) as connection:
            rows = connection.execute(select(e.event_id, e.type, e.served, e.served_public, e.sort_key)
                                      .where(and_(*conditions))
                                      .order_by(e.sort_key).limit(limit + 1)).all()
        more = len(rows) > limit
        rows = rows[:limit]
        return _served([row[:4] for row in rows], sees_restricted), (rows[-1].sort_key if more else None)

    def retractions(self, retracted_by: Mapping[str, str]) -> dict[str, dict[str, Any]]:
        """The ``event.retracted`` events (as served) by the id of the event each took back, given
        ``retracted_by``: retracted event id -> retraction id."""
        if not retracted_by:
            return {}
        target = {retraction: event for event, retraction in retracted_by.items()}
        with read_snapshot(self.engine) as connection:
            rows = connection.execute(select(t.events.c.event_id, t.events.c.served)
                                      .where(t.events.c.event_id.in_(sorted(target)))).all()
        return {target[row.event_id]: orjson.loads(row.served) for row in rows}

    def lot_exists(self, lot_id: str) -> bool:
        """Whether ``lot_id`` is a known lot (created, or named by an event before its creation)."""
        n = t.nodes.c
        with read_snapshot(self.engine) as connection:
            kind = connection.execute(select(n.kind).where(n.node_id == lot_id)).scalar()
        return kind == "lot"

    def pieces(self, product_ids: Iterable[str]) -> dict[str, tuple[str | None, str | None]]:
        """The GTIN and serial of each of ``product_ids`` that is a known product."""
        ids = sorted(set(product_ids))
        if not ids:
            return {}
        n = t.nodes.c
        with read_snapshot(self.engine) as connection:
            rows = connection.execute(select(n.node_id, n.gtin, n.serial)
                                      .where(n.node_id.in_(ids), n.kind == "product")).all()
        return {row.node_id: (row.gtin, row.serial) for row in rows}

    def product_of_piece(self, gtin14: str, serial: str) -> str | None:
        """The product whose GTIN (as GTIN-14) and serial these are, if one is known."""
        n = t.nodes.c
        with read_snapshot(self.engine) as connection:
            rows = connection.execute(select(n.node_id, n.gtin).where(n.kind == "product", n.serial == serial)).all()
        return next((row.node_id for row in rows if row.gtin and row.gtin.zfill(14) == gtin14), None)


def _served(rows: Iterable[Any], sees_restricted: bool) -> list[ServedEvent]:
    """Each event as the reader may see it (without restricted fields unless ``sees_restricted``)."""
    return [ServedEvent(event_id, kind, served if sees_restricted or public is None else public)
            for event_id, kind, served, public in rows]
