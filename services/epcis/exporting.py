"""Served v1 events as EPCIS events, each mapped and hashed once.

An event's EPCIS form depends only on its served JSON (the log never changes an event; its served
form changes when its signature is verified or it is retracted), on the error declaration of its
retraction and, for a sale, on the GTIN and serial of the piece. Mapping and hashing is most of the
cost of an export, so the EPCIS JSON of each is kept in a bounded LRU keyed by all three; an event
found there is not even parsed.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Callable, Iterable, Mapping, NamedTuple

import orjson

from services.epcis.identifiers import Identifiers
from services.epcis.mapping import MAPPED_TYPES, EpcisMapper

#: GTIN and serial of products by id (those known)
PieceLookup = Callable[[Iterable[str]], Mapping[str, "tuple[str | None, str | None]"]]
#: the ``event.retracted`` events (as served) by the id of the event each took back, given
#: retracted event id -> retraction id
RetractionLookup = Callable[[Mapping[str, str]], Mapping[str, dict[str, Any]]]
#: where a served form names its retraction (``consumers.provenance.projector.served_forms``)
_RETRACTED = '"retracted_by_event":'


class ServedEvent(NamedTuple):
    """An event as the API serves it: its id and type, and its JSON text."""

    event_id: str
    type: str
    served: str


class EpcisExporter:
    """Maps served events to EPCIS events (JSON fragments), remembering the last ``size`` mapped."""

    def __init__(self, identifiers: Identifiers, pieces: PieceLookup, retractions: RetractionLookup,
                 size: int = 50_000):
        self.identifiers = identifiers
        self.pieces = pieces
        self.retractions = retractions
        self.size = size
        self._mapped: OrderedDict[tuple[Any, ...], bytes] = OrderedDict()
        self._lock = threading.Lock()

    def events(self, served: list[ServedEvent]) -> list[orjson.Fragment]:
        """The EPCIS events of ``served`` that have a counterpart, in that order."""
        served = [event for event in served if event.type in MAPPED_TYPES]
        # only products' events and retracted ones are read before the lookup: what else they need
        parsed = {event.event_id: orjson.loads(event.served) for event in served
                  if event.type.startswith("product.") or _RETRACTED in event.served}
        pieces = self._pieces(parsed.values())
        retracted_by = {event_id: envelope["retracted_by_event"] for event_id, envelope in parsed.items()
                        if envelope.get("retracted_by_event")}
        retractions = self.retractions(retracted_by)
        mapper = EpcisMapper(self.identifiers, pieces.get)
        out = []
        for event in served:
            product = parsed[event.event_id]["data"]["product_id"] if event.type == "product.sold" else None
            key = (event.served, retracted_by.get(event.event_id), pieces.get(product) if product else None)
            with self._lock:
                mapped = self._mapped.get(key)
                if mapped is not None:
                    self._mapped.move_to_end(key)
            if mapped is None:
                envelope = parsed.get(event.event_id) or orjson.loads(event.served)
                mapped = orjson.dumps(mapper.event(envelope, retractions.get(event.event_id)))
                with self._lock:
                    self._mapped[key] = mapped
                    while len(self._mapped) > self.size:
                        self._mapped.popitem(last=False)
            out.append(orjson.Fragment(mapped))
        return out

    def _pieces(self, envelopes: Iterable[dict[str, Any]]) -> dict[str, tuple[str | None, str | None]]:
        """GTIN and serial of the products these events name: from their manufacturing if it is among
        them, else from the read model."""
        envelopes = list(envelopes)
        made = {e["data"]["product_id"]: (e["data"].get("gtin"), e["data"].get("serial"))
                for e in envelopes if e["type"] == "product.manufactured"}
        sold = {e["data"]["product_id"] for e in envelopes if e["type"] == "product.sold"} - made.keys()
        return {**self.pieces(sold), **made} if sold else made
