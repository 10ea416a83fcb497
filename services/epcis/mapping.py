"""Oretrail's v1 events as EPCIS 2.0 events (the table in the README, section "GS1 EPCIS 2.0").

Custody steps map to EPCIS events; registrations (master data), due diligence and impact have no
EPCIS counterpart and are left out. Every v1 field is kept, so ``importing`` reads the same v1
event back: lots and pieces as identifiers, grams as quantities in GRM, fineness, pit and miners in
the ILMD of the event that created the gold, and the rest (the v1 ``event_id``, ``recorded_by``,
evidence, signature, prices) as extensions under the Oretrail namespace.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

from services.epcis.event_hash import EventHasher
from services.epcis.identifiers import Identifiers
from services.epcis.vocabulary import CONTEXT, GRAMS, term

#: a product's GTIN and serial, if it has them (``None`` if not known)
PieceLookup = Callable[[str], "tuple[str | None, str | None] | None"]

#: v1 type -> (EPCIS type, action, CBV business step, CBV disposition): the README's table
MAPPED_TYPES: dict[str, tuple[str, str | None, str, str | None]] = {
    "production.recorded": ("ObjectEvent", "ADD", "commissioning", "active"),
    "lot.transferred": ("ObjectEvent", "OBSERVE", "shipping", "in_transit"),
    "lot.received": ("ObjectEvent", "OBSERVE", "receiving", "in_progress"),
    "lot.assayed": ("ObjectEvent", "OBSERVE", "inspecting", None),
    "lot.exported": ("ObjectEvent", "OBSERVE", "departing", "in_transit"),
    "lots.merged": ("TransformationEvent", None, "repackaging", None),
    "lot.split": ("TransformationEvent", None, "repackaging", None),
    "lot.refined": ("TransformationEvent", None, "commissioning", "active"),
    "product.manufactured": ("TransformationEvent", None, "assembling", "active"),
    "product.sold": ("ObjectEvent", "OBSERVE", "retail_selling", "retail_sold"),
}


def zone_offset(occurred_at: str) -> str:
    """The ``eventTimeZoneOffset`` of an RFC 3339 time (``Z`` is ``+00:00``)."""
    return "+00:00" if occurred_at[-1] in "Zz" else occurred_at[-6:]


class EpcisMapper:
    """Maps served v1 events to EPCIS events with identifiers under one base URL."""

    def __init__(self, identifiers: Identifiers, pieces: PieceLookup):
        self.ids = identifiers
        self.pieces = pieces
        self.hasher = EventHasher(CONTEXT)

    def event(self, envelope: Mapping[str, Any], retraction: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
        """The EPCIS event of a v1 event (as stored or served), None for a type with no counterpart;
        with an ``errorDeclaration`` if ``retraction`` (the ``event.retracted`` naming it) took it back."""
        kind = envelope["type"]
        if kind not in MAPPED_TYPES:
            return None
        epcis_type, action, biz_step, disposition = MAPPED_TYPES[kind]
        event: dict[str, Any] = {"type": epcis_type, "eventTime": envelope["occurred_at"],
                                 "eventTimeZoneOffset": zone_offset(envelope["occurred_at"])}
        if "recorded_at" in envelope:
            event["recordTime"] = envelope["recorded_at"]
        body = getattr(self, "_" + kind.replace(".", "_"))(envelope["data"])
        if action is not None:
            event["action"] = action
        event.update(body.pop("lists"))
        event["bizStep"] = biz_step
        if disposition is not None:
            event["disposition"] = disposition
        event.update(body)
        event.update(self._common(envelope))
        identified = {"eventID": self.hasher.hash(event), **event}
        if retraction is not None:
            # EPCIS's way to take an event back; not part of the hash, so the eventID stays the same
            identified["errorDeclaration"] = {
                "declarationTime": retraction["occurred_at"], "reason": "incorrect_data",
                term("retraction"): {term("eventId"): retraction["event_id"],
                                     term("reason"): retraction["data"]["reason"]}}
        return identified

    # -- what every event carries --------------------------------------------------------------
    def _common(self, envelope: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {term("eventId"): envelope["event_id"], term("recordedBy"): envelope["recorded_by"]}
        if "evidence" in envelope:
            out[term("evidence")] = [{term(key): value for key, value in item.items()} for item in envelope["evidence"]]
        if "signature" in envelope:
            out[term("signature")] = {term(key): value for key, value in envelope["signature"].items()}
        return out

    def _lot(self, lot_id: str, mass_g: float | None = None) -> dict[str, Any]:
        element: dict[str, Any] = {"epcClass": self.ids.lot(lot_id)}
        if mass_g is not None:
            element.update(quantity=mass_g, uom=GRAMS)
        return element

    def _lots(self, items: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
        return [self._lot(item["lot_id"], item["mass_g"]) for item in items]

    def _party(self, party_id: str) -> str:
        return self.ids.uri("party", party_id)

    def _piece(self, product_id: str, data: Mapping[str, Any] | None = None) -> str:
        known = (data.get("gtin"), data.get("serial")) if data is not None else self.pieces(product_id)
        gtin, serial = known if known is not None else (None, None)
        return self.ids.piece(product_id, gtin, serial)

    @staticmethod
    def _extensions(data: Mapping[str, Any], names: Mapping[str, str]) -> dict[str, Any]:
        """The v1 fields of ``data`` among ``names`` (v1 name -> Oretrail term), those present."""
        return {term(local): data[field] for field, local in names.items() if field in data}

    # -- one method per v1 type: the lists (identifiers, quantities) and the rest ------------------
    def _production_recorded(self, data: Mapping[str, Any]) -> dict[str, Any]:
        pit = self.ids.uri("pit", data["pit_id"])
        ilmd = {term("pit"): pit, term("miners"): list(data["miner_ids"])}
        if "fineness" in data:
            ilmd[term("fineness")] = data["fineness"]
        return {"lists": {"quantityList": [self._lot(data["lot_id"], data["mass_g"])]},
                "readPoint": {"id": pit}, "bizLocation": {"id": pit}, "ilmd": ilmd}

    def _lot_transferred(self, data: Mapping[str, Any]) -> dict[str, Any]:
        return {"lists": {"quantityList": [self._lot(data["lot_id"], data["mass_g"])]},
                "sourceList": [{"type": "owning_party", "source": self._party(data["from_id"])}],
                "destinationList": [{"type": "owning_party", "destination": self._party(data["to_id"])}],
                **self._extensions(data, {"price_per_g": "pricePerGram", "currency": "currency"})}

    def _lot_received(self, data: Mapping[str, Any]) -> dict[str, Any]:
        return {"lists": {"quantityList": [self._lot(data["lot_id"], data["mass_g"])]}}

    def _lot_assayed(self, data: Mapping[str, Any]) -> dict[str, Any]:
        return {"lists": {"quantityList": [self._lot(data["lot_id"])]},
                **self._extensions(data, {"fineness": "fineness", "method": "assayMethod"})}

    def _lot_exported(self, data: Mapping[str, Any]) -> dict[str, Any]:
        return {"lists": {"quantityList": [self._lot(data["lot_id"])]},
                **self._extensions(data, {"export_permit": "exportPermit", "destination_country": "destinationCountry",
                                          "royalties_paid": "royaltiesPaid", "currency": "currency",
                                          "certificate": "certificate"})}

    def _lots_merged(self, data: Mapping[str, Any]) -> dict[str, Any]:
        return {"lists": {"inputQuantityList": self._lots(data["inputs"]),
                          "outputQuantityList": [self._lot(data["lot_id"])]}}

    def _lot_split(self, data: Mapping[str, Any]) -> dict[str, Any]:
        return {"lists": {"inputQuantityList": [self._lot(data["lot_id"])],
                          "outputQuantityList": self._lots(data["outputs"])}}

    def _lot_refined(self, data: Mapping[str, Any]) -> dict[str, Any]:
        fineness = [{term("lot"): self.ids.lot(item["lot_id"]), term("fineness"): item["fineness"]}
                    for item in data["outputs"]]
        return {"lists": {"inputQuantityList": self._lots(data["inputs"]),
                          "outputQuantityList": self._lots(data["outputs"])},
                "ilmd": {term("outputFineness"): fineness}}

    def _product_manufactured(self, data: Mapping[str, Any]) -> dict[str, Any]:
        ilmd = {term("productId"): data["product_id"], term("massGrams"): data["mass_g"],
                term("fineness"): data["fineness"],
                **self._extensions(data, {"gtin": "gtin", "serial": "serial", "description": "description"})}
        return {"lists": {"inputQuantityList": self._lots(data["inputs"]),
                          "outputEPCList": [self._piece(data["product_id"], data)]},
                "ilmd": ilmd}

    def _product_sold(self, data: Mapping[str, Any]) -> dict[str, Any]:
        return {"lists": {"epcList": [self._piece(data["product_id"])]},
                **self._extensions(data, {"product_id": "productId", "price": "price", "currency": "currency"})}
