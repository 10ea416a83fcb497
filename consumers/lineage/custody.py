"""Custody authority in a projector's lineage tables: which steps count, recomputed from the set of claims.

Every custody step of a lot or piece (its creation, a hand-over, a use: merge, split, refining,
manufacturing, export, sale, receipt, assay) is kept as a *claim* row, whoever recorded it. At the
end of a batch the projector calls :meth:`CustodyLedger.recompute` for the items the batch touched: it runs
:func:`consumers.authority.custody` on each item's claims and stores the steps that do not count in a
*refused* table (``not_holder``: recorded by someone who did not hold the item then;
``conflicting_claim``: a creation of an item another organisation owns).

An event refused for any item it touches counts for nothing: its edges are left out of every ancestry
(:meth:`CustodyLedger.counted_edges`), its creations do not count (a node's creation columns are those
of its earliest creation among the events that count) and the projectors leave its transfers,
receipts, assays and sales out. Everything here is a function of the set of claims, so the tables
are the same for any arrival order.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

import orjson
from sqlalchemy import Column, Connection, Index, MetaData, Subquery, Table, Text, delete, select

from consumers.authority import Custody, Step, custody, independent
from consumers.batch import BatchWrites
from consumers.lineage.graph import REFINING, LineageFacts, Node, Origin
from consumers.sql import Key, among, upsert_many
from events.log import RecordedEvent

#: the columns of a node row that its creation fills (a node table has those it needs)
CREATION_COLUMNS = ("created_event_id", "created_sort", "created_type", "created_by", "created_at",
                    "created_recorded_at", "mass_g", "declared_fineness", "pit_id", "gtin", "serial", "description")
#: SQLite binds at most 32,766 parameters in one statement
_CHUNK = 2000
#: event types whose subject (``lot_id`` or ``product_id``) the recorder acts on without making anything:
#: only its holder then may export or sell it, weigh it on arrival (a receipt counts from the
#: organisation the lot was handed to, not from a stranger claiming an arrival weight) or assay it
#: (a rival's fineness must not rewrite the fine gold of someone else's lot)
_USES = {"lot.exported": "lot_id", "product.sold": "product_id", "lot.received": "lot_id", "lot.assayed": "lot_id"}
#: uses an independent party may record without holding the item (see ``consumers.authority.independent``)
_INDEPENDENT_USES = frozenset({"lot.assayed"})


@dataclass(frozen=True)
class CustodyTables:
    """A projector's custody tables: every claim on an item, and the claims that do not count."""

    claims: Table
    refused: Table


def custody_tables(metadata: MetaData, prefix: str) -> CustodyTables:
    """The ``{prefix}_custody_claims`` and ``{prefix}_custody_refused`` tables in ``metadata``."""
    claims = Table(
        f"{prefix}_custody_claims", metadata,
        Column("item_id", Key(160), primary_key=True),
        Column("event_id", Key(36), primary_key=True),
        Column("kind", Key(16), nullable=False),  # create, transfer, consume, retracted_create, independent
        Column("organisation", Key(160), nullable=False),
        Column("sort_key", Key(80), nullable=False),
        Column("recorded_at", Key(40), nullable=False),
        Column("to_id", Key(160)),
        Column("creation", Text),  # JSON: the node row a creation states
        Index(f"{prefix}_custody_claims_event", "event_id"),
    )
    refused = Table(
        f"{prefix}_custody_refused", metadata,
        Column("event_id", Key(36), primary_key=True),
        Column("item_id", Key(160), primary_key=True),
        Column("reason", Key(32), nullable=False),  # not_holder, conflicting_claim
        Column("holder", Key(160)),  # who held (or owns) the item then
        Index(f"{prefix}_custody_refused_item", "item_id"),
    )
    return CustodyTables(claims, refused)


def creation_row(origin: Origin, node: Node, recorded_at: str) -> dict[str, Any]:
    """The node row a creation states (every creation column)."""
    return {
        "node_id": node.node_id, "kind": node.kind, "created_event_id": origin.event_id,
        "created_sort": origin.sort_key, "created_type": origin.type, "created_by": origin.recorded_by,
        "created_at": origin.occurred_at, "created_recorded_at": recorded_at, "mass_g": node.mass_g,
        "declared_fineness": node.fineness, "pit_id": node.pit_id, "gtin": node.gtin, "serial": node.serial,
        "description": node.description,
    }


def custody_claims(facts: LineageFacts, data: Mapping[str, Any], recorded_at: str,
                   attested_role: str | None = None, with_creation: bool = True) -> list[dict[str, Any]]:
    """The custody claims of one event: what it creates, hands over or uses, by whom (pure).

    ``attested_role`` is the role of the key that recorded it (``attested_by.role``): an assay by an
    authority's or auditor's key is an ``independent`` claim, which custody never refuses.
    ``with_creation``: a creation claim carries the node row it states (only a ledger with a node table reads it).
    """
    origin = facts.origin
    common = {"event_id": origin.event_id, "organisation": origin.recorded_by, "sort_key": origin.sort_key,
              "recorded_at": recorded_at, "to_id": None, "creation": None}
    claims = [{**common, "item_id": node.node_id, "kind": "create",
               "creation": orjson.dumps(creation_row(origin, node, recorded_at), option=orjson.OPT_SORT_KEYS).decode()
               if with_creation else None}
              for node in facts.created if node.kind != REFINING]
    claims += [{**common, "item_id": item.lot_id, "kind": "consume"} for item in facts.consumed]
    if origin.type == "lot.transferred":  # of a lot, or of a piece passed on (its id as ``lot_id``)
        claims.append({**common, "item_id": data["lot_id"], "kind": "transfer", "to_id": data["to_id"]})
    elif origin.type in _USES:
        kind = "independent" if origin.type in _INDEPENDENT_USES and independent(attested_role) else "consume"
        claims.append({**common, "item_id": data[_USES[origin.type]], "kind": kind})
    unique: dict[str, dict[str, Any]] = {}
    for claim in claims:  # one claim per item and event (a lot named twice in a merge is one use)
        unique.setdefault(claim["item_id"], claim)
    return list(unique.values())


def attested_role(event: RecordedEvent) -> str | None:
    """The role of the key that recorded ``event`` (None for an event logged before attestation existed)."""
    return event.attested_by.role if event.attested_by is not None else None


def _chunks(ids: Iterable[str]) -> Iterable[list[str]]:
    ordered = sorted(set(ids))
    for start in range(0, len(ordered), _CHUNK):
        yield ordered[start:start + _CHUNK]


class CustodyLedger:
    """Claims, refusals and counted creations of one projector's lineage (its node table is optional)."""

    def __init__(self, tables: CustodyTables, nodes: Table | None = None, edges: Table | None = None):
        self.claims = tables.claims
        self.refused = tables.refused
        self.nodes = nodes
        self.edges = edges

    # -- writing ----------------------------------------------------------------------------
    def gather(self, writes: BatchWrites, facts: LineageFacts, data: Mapping[str, Any], recorded_at: str,
               attested_role: str | None = None) -> list[str]:
        """Add the event's placeholders, edges and claims to ``writes``; the items it touches.

        ``attested_role``: the role of the key that recorded the event (``attested_by.role``, None when
        the event has no attestation)."""
        claims = custody_claims(facts, data, recorded_at, attested_role, with_creation=self.nodes is not None)
        if self.nodes is not None:
            writes.insert_ignore(self.nodes, ({"node_id": ref.node_id, "kind": ref.kind} for ref in facts.referenced))
            writes.insert_ignore(self.nodes, ({"node_id": node.node_id, "kind": node.kind}
                                              for node in facts.created if node.kind != REFINING))
            for node in facts.created:  # the node of a refining is the event's own: nobody else can claim it
                if node.kind == REFINING:
                    row = self._node_row(creation_row(facts.origin, node, recorded_at))
                    writes.upsert(self.nodes, row, update=[name for name in row if name != "node_id"], group="hub")
        if self.edges is not None:
            writes.insert_ignore(self.edges, ({"event_id": facts.origin.event_id, "parent_id": edge.parent_id,
                                               "child_id": edge.child_id, "mass_g": edge.mass_g} for edge in facts.edges))
        writes.insert_ignore(self.claims, claims)
        return [claim["item_id"] for claim in claims]

    def gather_retracted(self, writes: BatchWrites, facts: LineageFacts, recorded_at: str) -> list[str]:
        """Add the claims a retracted event keeps: its creations, as ``retracted_create`` (they hold the
        ids for their author and nothing else); the items it touches."""
        origin = facts.origin
        claims = [{"event_id": origin.event_id, "organisation": origin.recorded_by, "sort_key": origin.sort_key,
                   "recorded_at": recorded_at, "to_id": None, "creation": None, "item_id": node.node_id,
                   "kind": "retracted_create"}
                  for node in facts.created if node.kind != REFINING]
        writes.insert_ignore(self.claims, claims)
        return [claim["item_id"] for claim in claims]

    def _node_row(self, row: Mapping[str, Any]) -> dict[str, Any]:
        assert self.nodes is not None
        return {name: value for name, value in row.items() if name in self.nodes.c}

    # -- reading ----------------------------------------------------------------------------
    def refused_events(self):
        """A ``SELECT`` of the ids of every event that does not count."""
        return select(self.refused.c.event_id)

    def counted_edges(self, name: str = "counted_edges") -> Subquery:
        """The edge table without the edges of refused events (for :mod:`consumers.lineage.ancestry`)."""
        assert self.edges is not None
        return select(self.edges).where(self.edges.c.event_id.not_in(self.refused_events())).subquery(name)

    # -- recomputing ------------------------------------------------------------------------
    def recompute(self, tx: Connection, item_ids: Iterable[str]) -> set[str]:
        """Re-decide the custody of ``item_ids`` and refresh what depends on it; the nodes it may have changed.

        Runs inside the runner's transaction, after the batch's claims are written.
        """
        items = set(item_ids)
        if not items:
            return set()
        c = self.claims.c
        steps: dict[str, list[Step]] = {item: [] for item in items}
        #: the creation claims read here (item -> (event_id, sort_key, creation)): the node refresh needs them again
        creations: dict[str, list[tuple[str, str, str | None]]] = {item: [] for item in items}
        read = select(c.item_id, c.event_id, c.kind, c.organisation, c.sort_key, c.recorded_at, c.to_id, c.creation)
        for chunk in _chunks(items):
            for item_id, event_id, kind, organisation, sort_key, recorded_at, to_id, creation in tx.execute(
                    read.where(among(c.item_id, chunk))).all():
                steps[item_id].append(Step(event_id, kind, organisation, sort_key, recorded_at, to_id))
                if kind == "create":
                    creations[item_id].append((event_id, sort_key, creation))
        verdicts = {item: custody(item_steps) for item, item_steps in steps.items()}
        before: set[str] = set()
        for chunk in _chunks(items):
            before.update(tx.execute(select(self.refused.c.event_id).where(among(self.refused.c.item_id, chunk))).scalars())
            tx.execute(delete(self.refused).where(among(self.refused.c.item_id, chunk)))
        rows = [row for item, verdict in verdicts.items() for row in _refusals(item, verdict)]
        if rows:
            tx.execute(self.refused.insert(), rows)
        changed_events = before | {row["event_id"] for row in rows}
        affected = set(items)
        for chunk in _chunks(changed_events):  # the outputs of an event whose refusal changed
            affected.update(tx.execute(select(c.item_id).where(among(c.event_id, chunk), c.kind == "create")).scalars())
        if self.nodes is not None:
            self._refresh_nodes(tx, affected, verdicts, creations)
        return affected

    def _refresh_nodes(self, tx: Connection, node_ids: set[str], verdicts: Mapping[str, Custody],
                       known: Mapping[str, list[tuple[str, str, str | None]]]) -> None:
        """Give each node the creation columns of its earliest counted creation (none: a placeholder).

        ``known``: the creation claims already read, of the nodes it names; the others' are read here."""
        assert self.nodes is not None
        c = self.claims.c
        creations = {node_id: known[node_id] for node_id in node_ids if node_id in known}
        unknown = [node_id for node_id in node_ids if node_id not in known]
        for node_id in unknown:
            creations[node_id] = []
        for chunk in _chunks(unknown):
            for item_id, event_id, sort_key, creation in tx.execute(
                    select(c.item_id, c.event_id, c.sort_key, c.creation)
                    .where(among(c.item_id, chunk), c.kind == "create")).all():
                creations[item_id].append((event_id, sort_key, creation))
        refused: set[str] = set()
        for chunk in _chunks(event_id for rows in creations.values() for event_id, _sort, _creation in rows):
            refused.update(tx.execute(select(self.refused.c.event_id).where(among(self.refused.c.event_id, chunk))).scalars())
        columns = [name for name in CREATION_COLUMNS if name in self.nodes.c]
        has_holder = "holder_id" in self.nodes.c
        read = [self.nodes.c.node_id, self.nodes.c.kind, *(self.nodes.c[name] for name in columns)]
        if has_holder:
            read.append(self.nodes.c.holder_id)
        names = [column.name for column in read]
        stored: dict[str, dict[str, Any]] = {}
        for chunk in _chunks(node_ids):
            stored.update((row[0], dict(zip(names, row))) for row in tx.execute(
                select(*read).where(among(self.nodes.c.node_id, chunk))).all())
        out = []
        for node_id in sorted(node_ids):
            counted = [row for row in creations[node_id] if row[0] not in refused]
            winner = min(counted, key=_sort_of, default=None)
            stated = orjson.loads(winner[2]) if winner is not None else {}
            before = stored.get(node_id, {})
            row = {"node_id": node_id, "kind": stated.get("kind") or before.get("kind") or "lot",
                   **{name: stated.get(name) for name in columns}}
            if has_holder and node_id in verdicts:
                row["holder_id"] = verdicts[node_id].holder
            if any(before.get(name, _ABSENT) != value for name, value in row.items()):
                out.append(row)  # a node whose columns would not change is not written again
        for has in (True, False):  # rows with and without a holder go in separate statements (same keys each)
            batch = [row for row in out if ("holder_id" in row) == has]
            if batch:
                upsert_many(tx, self.nodes, batch, update=[name for name in batch[0] if name != "node_id"])


def _sort_of(creation: tuple[str, str, str | None]) -> str:
    return creation[1]


_ABSENT = object()  # a column of a node not stored yet: any value differs from it


def _refusals(item_id: str, verdict: Custody) -> list[dict[str, Any]]:
    rows = [{"event_id": event_id, "item_id": item_id, "reason": "not_holder", "holder": holder}
            for event_id, holder in verdict.not_holder.items()]
    rows += [{"event_id": event_id, "item_id": item_id, "reason": "conflicting_claim", "holder": verdict.creator}
             for event_id in verdict.conflicting]
    return sorted(rows, key=lambda row: row["event_id"])
