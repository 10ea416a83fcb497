"""The assay a lot's node shows: its latest counted assay, recomputed whenever its custody is.

An assay counts from the lot's holder at that time or from an independent party (an authority's or
auditor's key, see ``consumers.authority.independent``); anyone else's is refused (``not_holder``) and
kept in ``prov_assays`` as evidence only. Whether an assay counts can change when a later-arriving
hand-over changes who held the lot, so the node's ``assay_fineness`` is recomputed from the counted
assays (never kept by a max-upsert of every assay): the same for any arrival order.
"""
from __future__ import annotations

from typing import Iterable

from sqlalchemy import Connection, bindparam, select, update

from consumers.provenance import tables as t
from consumers.sql import among

#: SQLite binds at most 32,766 parameters in one statement
_CHUNK = 2000


def refresh_assays(tx: Connection, node_ids: Iterable[str]) -> None:
    """Give each of ``node_ids`` the fineness and sort key of its latest counted assay (none: NULL)."""
    a, n = t.assays.c, t.nodes.c
    ordered = sorted(set(node_ids))
    for start in range(0, len(ordered), _CHUNK):
        chunk = ordered[start:start + _CHUNK]
        latest: dict[str, tuple[float | None, str | None]] = {}
        for lot_id, fineness, sort_key in tx.execute(
                select(a.lot_id, a.fineness, a.sort_key)
                .where(among(a.lot_id, chunk), a.event_id.not_in(t.refused_events()))):
            if lot_id not in latest or sort_key > (latest[lot_id][1] or ""):  # the latest in field time
                latest[lot_id] = (fineness, sort_key)
        changed = [{"b_node_id": node_id, "b_fineness": latest.get(node_id, (None, None))[0],
                    "b_sort": latest.get(node_id, (None, None))[1]}
                   for node_id, fineness, sort_key in tx.execute(
                       select(n.node_id, n.assay_fineness, n.assay_sort).where(among(n.node_id, chunk)))
                   if (fineness, sort_key) != latest.get(node_id, (None, None))]
        if changed:
            tx.execute(update(t.nodes).where(n.node_id == bindparam("b_node_id"))
                       .values(assay_fineness=bindparam("b_fineness"), assay_sort=bindparam("b_sort")), changed)
