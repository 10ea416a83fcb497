"""EPCIS 2.0 events as Oretrail v1 events: the mapping of ``mapping`` read backwards.

An event is recognised by its shape (event type, action, business step, which lists it has), not
by any Oretrail field, so a partner's events map when they say what a v1 event says: the lots must
be Oretrail lot URIs (``.../id/lot/{id}``, any host), the masses in grams (or kilograms,
milligrams). What cannot be read as a v1 event is reported with the reason, never guessed at.
Events exported by Oretrail carry their v1 ``event_id`` (the idempotency key: importing twice
records once); any other event gets a UUID derived from its GS1 event hash, which is as stable.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from services.epcis.event_hash import CBV, EventHasher, namespaces
from services.epcis.identifiers import Named, named
from services.epcis.vocabulary import NAMESPACE, UNIT_GRAMS

#: UUIDs of imported events without an Oretrail ``eventId``: uuid5 of their GS1 event hash
IMPORT_NAMESPACE = uuid.UUID("5b1f8f0e-8f6b-5d7e-9a43-6f7265747261")


class NotMappable(Exception):
    """Why an EPCIS event cannot be read as a v1 event."""


@dataclass
class Mapped:
    """One EPCIS event of a document and what it became: a v1 envelope, or the reason it did not."""

    index: int
    event_id: str  # its EPCIS eventID (the GS1 event hash if it had none)
    envelope: dict[str, Any] | None = None
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


class EventReader:
    """Reads the EPCIS events of one document (its ``@context`` names the extensions' prefixes)."""

    def __init__(self, context: Any, recorded_by: str):
        self.prefixes = namespaces(context)
        self.hasher = EventHasher(context)
        self.recorded_by = recorded_by

    def read(self, index: int, event: Mapping[str, Any]) -> Mapped:
        """What ``event`` (the ``index``-th of the document) becomes."""
        try:
            epcis_id = event.get("eventID") or self.hasher.hash(event)
        except (ValueError, TypeError, KeyError, AttributeError) as error:  # valid by the schema, yet unreadable
            return Mapped(index, "", reason=f"Its GS1 event hash cannot be computed: {error}")
        try:
            return Mapped(index, epcis_id, envelope=self._envelope(event, epcis_id))
        except NotMappable as reason:
            return Mapped(index, epcis_id, reason=str(reason))
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            return Mapped(index, epcis_id, reason=f"A field has content no v1 event can hold: {error!r}")

    # -- Oretrail's own fields, whatever prefix the document gives the namespace -----------------
    def ours(self, item: Mapping[str, Any], local: str, default: Any = None) -> Any:
        """The value of the Oretrail field ``local`` in ``item`` (a CURIE of any prefix or a full IRI)."""
        for key, value in item.items():
            prefix, sep, rest = key.partition(":")
            if (sep and rest == local and self.prefixes.get(prefix) == NAMESPACE) or key == NAMESPACE + local:
                return value
        return default

    def _strip(self, value: Any) -> Any:
        """Nested Oretrail fields (evidence, signature) with their v1 names."""
        if isinstance(value, list):
            return [self._strip(item) for item in value]
        if isinstance(value, Mapping):
            out = {}
            for key, item in value.items():
                prefix, sep, rest = key.partition(":")
                local = rest if sep and self.prefixes.get(prefix) == NAMESPACE else key.removeprefix(NAMESPACE)
                out[local] = self._strip(item)
            return out
        return value

    # -- the envelope ----------------------------------------------------------------------
    def _envelope(self, event: Mapping[str, Any], epcis_id: str) -> dict[str, Any]:
        if "errorDeclaration" in event:
            raise NotMappable("The event is declared erroneous (errorDeclaration): nothing to record. Oretrail "
                              "takes an event back with event.retracted (POST /v1/events).")
        kind, data = self._typed(event)
        event_id = self.ours(event, "eventId")
        if not isinstance(event_id, str):
            event_id = str(uuid.uuid5(IMPORT_NAMESPACE, epcis_id))
        recorded_by = self.ours(event, "recordedBy", self.recorded_by)
        envelope: dict[str, Any] = {"event_id": event_id, "type": kind, "occurred_at": event["eventTime"],
                                    "recorded_by": recorded_by, "data": data}
        for local in ("evidence", "signature"):
            value = self.ours(event, local)
            if value is not None:
                envelope[local] = self._strip(value)
        return envelope

    def _typed(self, event: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        """The v1 type and data of an event, by its shape."""
        shape = (event.get("type"), event.get("action"), biz_step_word(event.get("bizStep")))
        reader = _READERS.get(shape)
        if reader is None:
            raise NotMappable(
                f"No v1 event has the shape {shape[0]} action={shape[1]} bizStep={shape[2]} (see the README's "
                "mapping table: commissioning, shipping, receiving, inspecting, departing, retail_selling "
                "ObjectEvents; repackaging, commissioning, assembling TransformationEvents).")
        return reader(self, event)

    # -- identifiers and quantities -----------------------------------------------------------
    def lot(self, element: Mapping[str, Any], with_mass: bool | None) -> dict[str, Any]:
        """``{lot_id[, mass_g]}`` of a quantity element: an Oretrail lot, a mass if ``with_mass`` (None: optional)."""
        found = named(element["epcClass"])
        if found is None or found.kind != "lot":
            raise NotMappable(f"{element['epcClass']!r} is not an Oretrail lot URI (<base URL>/id/lot/<lot_id>).")
        out: dict[str, Any] = {"lot_id": found.id}
        if "quantity" in element and with_mass is not False:
            unit = element.get("uom")
            if unit not in UNIT_GRAMS:
                raise NotMappable(f"The quantity of {element['epcClass']!r} is in {unit!r}, not a mass (GRM, KGM, MGM).")
            quantity = element["quantity"]
            out["mass_g"] = quantity if unit == "GRM" else round(quantity * UNIT_GRAMS[unit], 6)
        elif with_mass:
            raise NotMappable(f"{element['epcClass']!r} has no quantity in grams.")
        elif "quantity" in element:
            raise NotMappable(f"{element['epcClass']!r} has a quantity where the v1 event has none.")
        return out

    def single_lot(self, event: Mapping[str, Any], key: str, with_mass: bool | None) -> dict[str, Any]:
        items = event.get(key) or []
        if len(items) != 1 or event.get("epcList"):
            raise NotMappable(f"Exactly one lot is expected in {key} (and no epcList).")
        return self.lot(items[0], with_mass)

    def party(self, event: Mapping[str, Any], key: str, item: str) -> str:
        owners = [entry[item] for entry in event.get(key) or [] if _word(entry.get("type"), "SDT-") == "owning_party"]
        if len(owners) != 1:
            raise NotMappable(f"Exactly one owning_party is expected in {key}.")
        found = named(owners[0])
        if found is None or found.kind != "party":
            raise NotMappable(f"{owners[0]!r} is not an Oretrail party URI (<base URL>/id/party/<id>).")
        return found.id

    def piece(self, uri: str, product_id: Any) -> str:
        """The product id of a piece: its own URI, or the ``productId`` a Digital Link URI comes with."""
        found: Named | None = named(uri)
        if found is not None and found.kind == "product":
            return found.id
        if found is not None and found.kind == "piece" and isinstance(product_id, str):
            return product_id
        raise NotMappable(f"{uri!r} is not an Oretrail piece (<base URL>/id/product/<id>, or a Digital Link URI "
                          "with an oretrail:productId).")

    def fields(self, item: Mapping[str, Any], names: Mapping[str, str]) -> dict[str, Any]:
        """The Oretrail fields of ``item`` among ``names`` (term -> v1 name), those present."""
        out = {}
        for local, v1 in names.items():
            value = self.ours(item, local)
            if value is not None:
                out[v1] = value
        return out


def _word(value: Any, prefix: str) -> str | None:
    """A CBV term (bare, URN or Web URI) as its bare word."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    for start in (CBV + prefix, "cbv:" + prefix):
        if value.startswith(start):
            return value[len(start):]
    if value.startswith("urn:epcglobal:cbv:"):
        return value.rsplit(":", 1)[1]
    return value


def biz_step_word(value: Any) -> str | None:
    """A business step (bare word, URN, CURIE or Web URI) as its bare CBV word."""
    return _word(value, "BizStep-")


# -- one reader per v1 type: the shape it recognises and the data it reads ----------------------
def _production(reader: EventReader, event: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    ilmd = event.get("ilmd") or {}
    pit, miners = named(str(reader.ours(ilmd, "pit", ""))), reader.ours(ilmd, "miners")
    if pit is None or pit.kind != "pit" or not isinstance(miners, list):
        raise NotMappable("A commissioning needs oretrail:pit (an Oretrail pit URI) and oretrail:miners in its ilmd.")
    data = {**reader.single_lot(event, "quantityList", True), "pit_id": pit.id, "miner_ids": miners}
    return "production.recorded", {**data, **reader.fields(ilmd, {"fineness": "fineness"})}


def _transfer(reader: EventReader, event: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    lot = reader.single_lot(event, "quantityList", True)
    data = {"lot_id": lot["lot_id"], "from_id": reader.party(event, "sourceList", "source"),
            "to_id": reader.party(event, "destinationList", "destination"), "mass_g": lot["mass_g"]}
    return "lot.transferred", {**data, **reader.fields(event, {"pricePerGram": "price_per_g", "currency": "currency"})}


def _receipt(reader: EventReader, event: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    return "lot.received", reader.single_lot(event, "quantityList", True)


def _assay(reader: EventReader, event: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    data = {**reader.single_lot(event, "quantityList", False), **reader.fields(event, {"fineness": "fineness",
                                                                                      "assayMethod": "method"})}
    if "fineness" not in data:
        raise NotMappable("An inspecting event maps to lot.assayed only with an oretrail:fineness.")
    return "lot.assayed", data


def _export(reader: EventReader, event: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    data = {**reader.single_lot(event, "quantityList", False), **reader.fields(event, {
        "exportPermit": "export_permit", "destinationCountry": "destination_country", "royaltiesPaid": "royalties_paid",
        "currency": "currency", "certificate": "certificate"})}
    if "export_permit" not in data or "destination_country" not in data:
        raise NotMappable("A departing event maps to lot.exported only with oretrail:exportPermit and "
                          "oretrail:destinationCountry.")
    return "lot.exported", data


def _sale(reader: EventReader, event: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    pieces = event.get("epcList") or []
    if len(pieces) != 1 or event.get("quantityList"):
        raise NotMappable("A retail_selling event maps to product.sold with exactly one piece in epcList.")
    data = {"product_id": reader.piece(pieces[0], reader.ours(event, "productId"))}
    return "product.sold", {**data, **reader.fields(event, {"price": "price", "currency": "currency"})}


def _no_epcs(event: Mapping[str, Any], *keys: str) -> None:
    if any(event.get(key) for key in keys):
        raise NotMappable(f"A v1 transformation of lots has no {' or '.join(keys)}.")


def _repackaging(reader: EventReader, event: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    _no_epcs(event, "inputEPCList", "outputEPCList")
    inputs, outputs = event.get("inputQuantityList") or [], event.get("outputQuantityList") or []
    if len(outputs) == 1 and inputs and "quantity" not in outputs[0]:
        return "lots.merged", {"lot_id": reader.lot(outputs[0], False)["lot_id"],
                               "inputs": [reader.lot(item, True) for item in inputs]}
    if len(inputs) == 1 and outputs and "quantity" not in inputs[0]:
        return "lot.split", {"lot_id": reader.lot(inputs[0], False)["lot_id"],
                             "outputs": [reader.lot(item, True) for item in outputs]}
    raise NotMappable("A repackaging maps to lots.merged (inputs with grams, one output without) or lot.split "
                      "(one input without grams, outputs with).")


def _refining(reader: EventReader, event: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    _no_epcs(event, "inputEPCList", "outputEPCList")
    fineness = {}
    for item in reader.ours(event.get("ilmd") or {}, "outputFineness") or []:
        found = named(str(reader.ours(item, "lot", "")))
        if found is not None and found.kind == "lot":
            fineness[found.id] = reader.ours(item, "fineness")
    outputs = [reader.lot(item, True) for item in event.get("outputQuantityList") or []]
    if not outputs or any(fineness.get(item["lot_id"]) is None for item in outputs):
        raise NotMappable("A commissioning transformation maps to lot.refined only with every output's fineness "
                          "in oretrail:outputFineness of its ilmd.")
    return "lot.refined", {"inputs": [reader.lot(item, True) for item in event.get("inputQuantityList") or []],
                           "outputs": [{**item, "fineness": fineness[item["lot_id"]]} for item in outputs]}


def _manufacturing(reader: EventReader, event: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    ilmd = event.get("ilmd") or {}
    pieces = event.get("outputEPCList") or []
    if len(pieces) != 1 or event.get("outputQuantityList") or event.get("inputEPCList"):
        raise NotMappable("An assembling maps to product.manufactured with exactly one piece in outputEPCList "
                          "and lots in inputQuantityList.")
    data = {"product_id": reader.piece(pieces[0], reader.ours(ilmd, "productId")),
            **reader.fields(ilmd, {"gtin": "gtin", "serial": "serial", "description": "description"}),
            "inputs": [reader.lot(item, True) for item in event.get("inputQuantityList") or []],
            **reader.fields(ilmd, {"massGrams": "mass_g", "fineness": "fineness"})}
    if "mass_g" not in data or "fineness" not in data:
        raise NotMappable("An assembling maps to product.manufactured only with oretrail:massGrams and "
                          "oretrail:fineness in its ilmd.")
    return "product.manufactured", data


_READERS: dict[tuple[Any, Any, Any], Callable[[EventReader, Mapping[str, Any]], tuple[str, dict[str, Any]]]] = {
    ("ObjectEvent", "ADD", "commissioning"): _production,
    ("ObjectEvent", "OBSERVE", "shipping"): _transfer,
    ("ObjectEvent", "OBSERVE", "receiving"): _receipt,
    ("ObjectEvent", "OBSERVE", "inspecting"): _assay,
    ("ObjectEvent", "OBSERVE", "departing"): _export,
    ("ObjectEvent", "OBSERVE", "retail_selling"): _sale,
    ("TransformationEvent", None, "repackaging"): _repackaging,
    ("TransformationEvent", None, "commissioning"): _refining,
    ("TransformationEvent", None, "assembling"): _manufacturing,
}


def read_document(document: Mapping[str, Any], events: list[Mapping[str, Any]], recorded_by: str) -> list[Mapped]:
    """Every event of ``document`` (its ``events``) as what it becomes; ``recorded_by`` for those that
    do not say who recorded them (the importing key's organisation)."""
    reader = EventReader(document.get("@context"), recorded_by)
    return [reader.read(index, event) for index, event in enumerate(events)]
