"""The lineage facts a custody event implies, as plain data: no database here.

Every projector that keeps a lineage graph (provenance, impact, checks) reads a custody event
through :func:`lineage_facts` and writes what it needs of the answer:

- ``created``: the lots and products the event brings into being (and, for a refining, the node
  that stands for the refining itself: its inputs flow into it, its outputs out of it);
- ``edges``: grams of a parent that went into a child;
- ``consumed``: grams of each lot a transformation takes in (a split takes the sum of its outputs);
- ``referenced``: nodes the event names without creating them. A projector writes them as
  placeholders, so a lot used before its creation arrives is already a node of the graph
  (events of different streams arrive in any order).

When two events claim to create one node, the earliest (by :func:`sort_key`) wins, whatever the
arrival order: :func:`replaces_creation` is that rule, :func:`earliest_creation` applies it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timezone
from typing import Any, Callable, Iterable, Mapping, TypeVar

from events.fields import parse_timestamp

LOT, PRODUCT, REFINING = "lot", "product", "refining"

T = TypeVar("T")


def sort_key(occurred_at: str, event_id: str) -> str:
    """A key that orders events by when they happened (in UTC), then by id: the same on every replay."""
    moment = parse_timestamp(occurred_at).astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ") + "|" + event_id


def moment_of(key: str) -> str:
    """The instant (UTC) of a ``sort_key``, without the event id that breaks ties."""
    return key.partition("|")[0]


def refining_node_id(event_id: str) -> str:
    """The id of the node standing for one refining (``/`` cannot occur in client identifiers)."""
    return f"refining/{event_id}"


@dataclass(frozen=True)
class Origin:
    """The event that states the facts: the creator of every node it creates."""

    event_id: str
    type: str
    sort_key: str
    recorded_by: str
    occurred_at: str


@dataclass(frozen=True)
class Node:
    """A lot, product or refining an event creates, with what the event states of it."""

    node_id: str
    kind: str
    mass_g: float
    fineness: float | None = None
    #: of a production lot
    pit_id: str | None = None
    #: of a product
    gtin: str | None = None
    serial: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class Edge:
    """Grams of ``parent_id`` that went into ``child_id``."""

    parent_id: str
    child_id: str
    mass_g: float


@dataclass(frozen=True)
class Quantity:
    """Grams of a lot taken into a transformation."""

    lot_id: str
    mass_g: float


@dataclass(frozen=True)
class Reference:
    """A node an event names without creating it: a placeholder until its creation arrives."""

    node_id: str
    kind: str = LOT


@dataclass(frozen=True)
class LineageFacts:
    """What one event says of the lineage graph (nothing, for an event that is not about custody)."""

    origin: Origin
    created: tuple[Node, ...] = ()
    edges: tuple[Edge, ...] = ()
    consumed: tuple[Quantity, ...] = ()
    referenced: tuple[Reference, ...] = ()

    @property
    def subjects(self) -> list[str]:
        """Every node the event is about: those it creates and those it names."""
        return [node.node_id for node in self.created] + [reference.node_id for reference in self.referenced]


def lineage_facts(envelope: Mapping[str, Any]) -> LineageFacts:
    """The lineage facts of one event envelope (``event_id``, ``type``, ``occurred_at``, ``recorded_by``, ``data``)."""
    origin = Origin(envelope["event_id"], envelope["type"], sort_key(envelope["occurred_at"], envelope["event_id"]),
                    envelope["recorded_by"], envelope["occurred_at"])
    reader = _READERS.get(origin.type)
    return reader(origin, envelope["data"]) if reader is not None else LineageFacts(origin)


def replaces_creation(candidate_sort: str, kept_sort: str | None) -> bool:
    """Whether a creation stated at ``candidate_sort`` replaces the one kept (``None``: a placeholder).

    The earliest creation wins, so the graph is the same for any arrival order.
    """
    return kept_sort is None or candidate_sort < kept_sort


def earliest_creation(creations: Iterable[T], sort_of: Callable[[T], str] = lambda c: c.sort_key) -> T | None:
    """The creation that counts among several claims to create one node (None if there is none)."""
    winner: T | None = None
    for creation in creations:
        if winner is None or replaces_creation(sort_of(creation), sort_of(winner)):
            winner = creation
    return winner


# -- one reader per custody event type ---------------------------------------------------------
def _quantities(items: list[dict]) -> tuple[Quantity, ...]:
    return tuple(Quantity(item["lot_id"], item["mass_g"]) for item in items)


def _total(items: list[dict]) -> float:
    return round(sum(item["mass_g"] for item in items), 6)


def _production(origin: Origin, data: dict) -> LineageFacts:
    lot = Node(data["lot_id"], LOT, data["mass_g"], fineness=data.get("fineness"), pit_id=data["pit_id"])
    return LineageFacts(origin, created=(lot,))


def _about_lot(origin: Origin, data: dict) -> LineageFacts:
    return LineageFacts(origin, referenced=(Reference(data["lot_id"]),))


def _merge(origin: Origin, data: dict) -> LineageFacts:
    inputs, merged = data["inputs"], data["lot_id"]
    return LineageFacts(
        origin, created=(Node(merged, LOT, _total(inputs)),),
        edges=tuple(Edge(item["lot_id"], merged, item["mass_g"]) for item in inputs),
        consumed=_quantities(inputs), referenced=tuple(Reference(item["lot_id"]) for item in inputs),
    )


def _split(origin: Origin, data: dict) -> LineageFacts:
    outputs, source = data["outputs"], data["lot_id"]
    return LineageFacts(
        origin, created=tuple(Node(item["lot_id"], LOT, item["mass_g"]) for item in outputs),
        edges=tuple(Edge(source, item["lot_id"], item["mass_g"]) for item in outputs),
        consumed=(Quantity(source, _total(outputs)),), referenced=(Reference(source),),
    )


def _refining(origin: Origin, data: dict) -> LineageFacts:
    inputs, outputs = data["inputs"], data["outputs"]
    hub = refining_node_id(origin.event_id)
    return LineageFacts(
        origin,
        created=(Node(hub, REFINING, _total(inputs)),
                 *(Node(item["lot_id"], LOT, item["mass_g"], fineness=item["fineness"]) for item in outputs)),
        edges=(*(Edge(item["lot_id"], hub, item["mass_g"]) for item in inputs),
               *(Edge(hub, item["lot_id"], item["mass_g"]) for item in outputs)),
        consumed=_quantities(inputs), referenced=tuple(Reference(item["lot_id"]) for item in inputs),
    )


def _manufacture(origin: Origin, data: dict) -> LineageFacts:
    inputs, product = data["inputs"], data["product_id"]
    piece = Node(product, PRODUCT, data["mass_g"], fineness=data["fineness"], gtin=data.get("gtin"),
                 serial=data.get("serial"), description=data.get("description"))
    return LineageFacts(
        origin, created=(piece,), edges=tuple(Edge(item["lot_id"], product, item["mass_g"]) for item in inputs),
        consumed=_quantities(inputs), referenced=tuple(Reference(item["lot_id"]) for item in inputs),
    )


def _sale(origin: Origin, data: dict) -> LineageFacts:
    return LineageFacts(origin, referenced=(Reference(data["product_id"], PRODUCT),))


_READERS: dict[str, Callable[[Origin, dict], LineageFacts]] = {
    "production.recorded": _production,
    "lot.transferred": _about_lot,
    "lot.received": _about_lot,
    "lot.assayed": _about_lot,
    "lot.exported": _about_lot,
    "lots.merged": _merge,
    "lot.split": _split,
    "lot.refined": _refining,
    "product.manufactured": _manufacture,
    "product.sold": _sale,
}
