"""The exporter maps each served event once, and again whenever what its EPCIS form depends on changes."""
from __future__ import annotations

import orjson

from services.epcis.exporting import EpcisExporter, ServedEvent
from services.epcis.identifiers import Identifiers
from tests import factories as f


class Counting(EpcisExporter):
    """An exporter that counts the events it really maps."""

    def __init__(self, pieces: dict, retractions: dict, size: int = 100):
        super().__init__(Identifiers("https://gold.example.org"), lambda ids: {i: pieces[i] for i in ids if i in pieces},
                         lambda retracted_by: {e: retractions[e] for e in retracted_by if e in retractions}, size)
        self.mapped = 0

    def events(self, served):
        before = len(self._mapped)
        out = super().events(served)
        self.mapped += max(len(self._mapped) - before, 0)
        return out


def texts(*events: dict) -> list[ServedEvent]:
    return [ServedEvent(event["event_id"], event["type"], orjson.dumps(event).decode()) for event in events]


def test_an_event_is_mapped_once_and_served_from_memory_after():
    exporter = Counting({}, {})
    served = texts(f.production("lot-a", "pit-a", 10.0), f.site("site-a"))
    first = exporter.events(served)
    second = exporter.events(served)
    assert exporter.mapped == 1  # the registration has no EPCIS event
    assert [bytes(orjson.dumps(x)) for x in first] == [bytes(orjson.dumps(x)) for x in second]


def test_a_sale_is_mapped_again_once_its_piece_s_gtin_is_known():
    pieces: dict = {}
    exporter = Counting(pieces, {})
    sale = texts(f.event("product.sold", {"product_id": "ring-1"}, recorded_by="atelier"))
    before = orjson.loads(orjson.dumps(exporter.events(sale)))[0]
    pieces["ring-1"] = ("03760123450010", "000001")
    after = orjson.loads(orjson.dumps(exporter.events(sale)))[0]
    assert before["epcList"] == ["https://gold.example.org/id/product/ring-1"]
    assert after["epcList"] == ["https://gold.example.org/01/03760123450010/21/000001"]


def test_a_retraction_adds_its_error_declaration_and_the_memory_stays_bounded():
    retractions: dict = {}
    exporter = Counting({}, retractions, size=2)
    assay = f.assay("lot-a", 0.9)
    assert "errorDeclaration" not in orjson.loads(orjson.dumps(exporter.events(texts(assay))))[0]
    retraction = f.event("event.retracted", {"event_id": assay["event_id"], "reason": "wrong lot"})
    retractions[assay["event_id"]] = retraction
    declared = orjson.loads(orjson.dumps(exporter.events(texts({**assay, "retracted_by_event": retraction["event_id"]}))))[0]
    assert declared["errorDeclaration"]["reason"] == "incorrect_data"
    exporter.events(texts(f.assay("lot-b", 0.8), f.assay("lot-c", 0.7)))
    assert len(exporter._mapped) == 2
