"""Served v1 events as EPCIS events, each mapped and hashed once.

An event's EPCIS form depends only on its served JSON (the log never changes an event; its served
form changes when its signature is verified or it is retracted), on the error declaration of its
retraction and, for a sale, on the GTIN and serial of the piece. Mapping and hashing is most of the
cost of an export, so the EPCIS JSON of each is kept in a bounded LRU keyed by all three.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Callable, Iterable, Mapping

import orjson

from services.epcis.identifiers import Identifiers
from services.epcis.mapping import MAPPED_TYPES, EpcisMapper

#: GTIN and serial of products by id (those known)
PieceLookup = Callable[[Iterable[str]], Mapping[str, "tuple[str | None, str | None]"]]
#: the ``event.retracted`` that took back each of some events, by the retracted event's id
RetractionLookup = Callable[[list[dict[str, Any]]], Mapping[str, dict[str, Any]]]


class EpcisExporter:
    """Maps served events (JSON texts) to EPCIS events (JSON fragments), remembering the last ``size``."""

    def __init__(self, identifiers: Identifiers, pieces: PieceLookup, retractions: RetractionLookup,
                 size: int = 50_000):
        self.identifiers = identifiers
        self.pieces = pieces
        self.retractions = retractions
        self.size = size
        self._mapped: OrderedDict[tuple[Any, ...], bytes] = OrderedDict()
        self._lock = threading.Lock()

    def events(self, served: list[str]) -> list[orjson.Fragment]:
        """The EPCIS events of the served events ``served`` that have a counterpart, in that order."""
        envelopes = [orjson.loads(text) for text in served]
        pieces = self._pieces(envelopes)
        retractions = self.retractions(envelopes)
        mapper = EpcisMapper(self.identifiers, pieces.get)
        out = []
        for text, envelope in zip(served, envelopes):
            if envelope["type"] not in MAPPED_TYPES:
                continue
            retraction = retractions.get(envelope["event_id"])
            piece = pieces.get(envelope["data"]["product_id"]) if envelope["type"] == "product.sold" else None
            key = (text, retraction["event_id"] if retraction is not None else None, piece)
            with self._lock:
                mapped = self._mapped.get(key)
                if mapped is not None:
                    self._mapped.move_to_end(key)
            if mapped is None:
                mapped = orjson.dumps(mapper.event(envelope, retraction))
                with self._lock:
                    self._mapped[key] = mapped
                    while len(self._mapped) > self.size:
                        self._mapped.popitem(last=False)
            out.append(orjson.Fragment(mapped))
        return out

    def _pieces(self, envelopes: list[dict[str, Any]]) -> dict[str, tuple[str | None, str | None]]:
        """GTIN and serial of the products these events name: from their manufacturing if it is among
        them, else from the read model."""
        made = {e["data"]["product_id"]: (e["data"].get("gtin"), e["data"].get("serial"))
                for e in envelopes if e["type"] == "product.manufactured"}
        sold = {e["data"]["product_id"] for e in envelopes if e["type"] == "product.sold"} - made.keys()
        return {**self.pieces(sold), **made} if sold else made
