"""The GS1 EPCIS event hash (CBV 2.0 section 8.9): an event's ``ni:///sha-256;...?ver=CBV2.0`` id.

The pre-hash string takes the event's fields in the canonical property order, each value normalised
(timestamps in UTC with milliseconds, numbers without trailing zeros, CBV values and CURIEs as full
URIs, EPC URNs and Digital Link URIs in their constrained canonical form), lists sorted, then the ILMD
and the user extensions as ``{namespace}name=value`` sorted. Its SHA-256 in hex is the hash. Any
syntax of the same event gives the same id; any change of a field changes it.
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Iterable, Mapping

from services.epcis.digital_link import canonical_identifier

VERSION = "CBV2.0"
CBV = "https://ref.gs1.org/cbv/"
GS1_VOC = "https://gs1.org/voc/"
#: prefixes the EPCIS 2.0 context defines (a document's own @context adds to them)
STANDARD_PREFIXES = {"epcis": "https://ref.gs1.org/epcis/", "cbv": CBV, "cbvmda": "urn:epcglobal:cbv:mda:",
                     "gs1": GS1_VOC, "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
                     "owl": "http://www.w3.org/2002/07/owl#", "xsd": "http://www.w3.org/2001/XMLSchema#",
                     "dcterms": "http://purl.org/dc/terms/"}
#: CBV vocabularies: the prefix of a bare JSON word, and the URN form older documents use
_VOCABULARIES = {"bizStep": ("BizStep-", "bizstep"), "disposition": ("Disp-", "disp"),
                 "bizTransactionType": ("BTT-", "btt"), "sourceDestType": ("SDT-", "sdt"),
                 "component": ("Comp-", "comp"), "errorReason": ("ER-", "er")}

_QUANTITY_LISTS = ("quantityList", "childQuantityList", "inputQuantityList")
_SENSOR_METADATA = ("time", "startTime", "endTime", "deviceID", "deviceMetadata", "rawData",
                    "dataProcessingMethod", "bizRules")
_SENSOR_REPORT = ("type", "exception", "deviceID", "deviceMetadata", "rawData", "dataProcessingMethod", "time",
                  "microorganism", "chemicalSubstance", "value", "component", "stringValue", "booleanValue",
                  "hexBinaryValue", "uriValue", "minValue", "maxValue", "meanValue", "sDev", "percRank",
                  "percValue", "uom", "coordinateReferenceSystem")
#: a JSON-LD comment on an event is not part of it
_COMMENTS = {"{http://www.w3.org/2000/01/rdf-schema#}comment"}
#: fields of the event that are not hashed: its id, the server's time and the error declaration
#: (both an event and its later error declaration have the same id); ``@context``, ``comment``
_NOT_HASHED = {"eventID", "recordTime", "errorDeclaration", "@context", "comment", "type", "eventTime",
               "eventTimeZoneOffset", "certificationInfo", "epcList", "parentID", "inputEPCList", "childEPCs",
               "quantityList", "childQuantityList", "inputQuantityList", "outputEPCList", "outputQuantityList",
               "action", "transformationID", "bizStep", "disposition", "persistentDisposition", "readPoint",
               "bizLocation", "bizTransactionList", "sourceList", "destinationList", "sensorElementList", "ilmd"}


def event_hash(event: Mapping[str, Any], context: Any = None, ignore: Iterable[str] = ()) -> str:
    """The GS1 event hash id of ``event``; ``context`` is its document's ``@context`` (for the
    namespaces of extensions), ``ignore`` expanded names of fields a repository added to it."""
    return EventHasher(context, ignore).hash(event)


def hash_of(pre_hash_string: str) -> str:
    """The ``ni:`` URI of a pre-hash string."""
    return f"ni:///sha-256;{hashlib.sha256(pre_hash_string.encode('utf-8')).hexdigest()}?ver={VERSION}"


def pre_hash(event: Mapping[str, Any], context: Any = None, ignore: Iterable[str] = ()) -> str:
    """The canonical pre-hash string of ``event`` (what is hashed)."""
    return EventHasher(context, ignore).pre_hash(event)


def namespaces(*contexts: Any) -> dict[str, str]:
    """The prefixes defined by the standard context and by each of ``contexts`` (URLs are skipped)."""
    prefixes = dict(STANDARD_PREFIXES)
    for context in contexts:
        for item in context if isinstance(context, list) else [context]:
            if isinstance(item, dict):
                prefixes.update({k: v for k, v in item.items() if isinstance(v, str)})
    return prefixes


def timestamp(value: str) -> str:
    """An RFC 3339 time in UTC with milliseconds (the fourth decimal rounds half up)."""
    moment = datetime.fromisoformat(value.strip().upper().replace("Z", "+00:00")).astimezone(timezone.utc)
    millis = (moment.microsecond + 500) // 1000  # Python keeps six decimals: the fourth is there to round
    moment = moment.replace(microsecond=0) + timedelta(milliseconds=millis)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


def number(value: Any) -> str:
    """A number without trailing zeros (1.0 is 1, 0.3430 is 0.343), as text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = format(Decimal(str(value)), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


class EventHasher:
    """Hashes the events of one document: its ``@context`` (the namespaces of extensions) is read once."""

    def __init__(self, context: Any = None, ignore: Iterable[str] = ()):
        self.context = context
        self.prefixes = namespaces(context)
        self.ignore = frozenset(ignore)

    def hash(self, event: Mapping[str, Any]) -> str:
        """The event hash id of ``event``."""
        return hash_of(self.pre_hash(event))

    def pre_hash(self, event: Mapping[str, Any]) -> str:
        """The pre-hash string of ``event`` (an event's own ``@context`` adds to the document's)."""
        if "@context" in event:
            return EventHasher([self.context, event["@context"]], self.ignore).event(event)
        return self.event(event)

    def uri(self, value: str) -> str:
        """A value as a full URI: CURIEs expanded, identifiers in their canonical form."""
        value = value.strip()
        prefix, sep, rest = value.partition(":")
        if sep and prefix in self.prefixes and not rest.startswith("//"):
            value = self.prefixes[prefix] + rest
        return canonical_identifier(value)

    def vocabulary(self, value: str, kind: str) -> str:
        """A CBV value (bare word, URN or URI) as its GS1 Web URI."""
        value = value.strip()
        web, urn = _VOCABULARIES[kind]
        if value.startswith(f"urn:epcglobal:cbv:{urn}:"):
            return CBV + web + value.rsplit(":", 1)[1]
        if ":" not in value:
            return CBV + web + value
        return self.uri(value)

    def gs1_term(self, value: str) -> str:
        """A GS1 Web Vocabulary term (sensor types, alarm conditions): bare words are ``gs1:`` terms."""
        value = value.strip()
        return GS1_VOC + value if ":" not in value else self.uri(value)

    def name(self, key: str) -> str | None:
        """``{namespace}local`` of an extension's key (a CURIE or an absolute IRI), None for a bare key."""
        prefix, sep, local = key.partition(":")
        if sep and prefix in self.prefixes:
            return "{" + self.prefixes[prefix] + "}" + local
        if sep and local.startswith("//"):
            namespace, _, local_name = key.rpartition("/") if "#" not in key else key.rpartition("#")
            return "{" + namespace + ("#" if "#" in key else "/") + "}" + local_name
        return None

    # -- the event ---------------------------------------------------------------------------
    def event(self, event: Mapping[str, Any]) -> str:
        out = [f"eventType={event['type']}"]
        if "eventTime" in event:
            out.append(f"eventTime={timestamp(event['eventTime'])}")
        if "eventTimeZoneOffset" in event:
            out.append(f"eventTimeZoneOffset={event['eventTimeZoneOffset'].strip()}")
        if "certificationInfo" in event:
            infos = event["certificationInfo"]
            for info in sorted(infos if isinstance(infos, list) else [infos]):
                out.append(f"certificationInfo={self.uri(info)}")
        for key in ("epcList", "parentID", "inputEPCList", "childEPCs", *_QUANTITY_LISTS, "outputEPCList",
                    "outputQuantityList"):
            if key not in event:
                continue
            value = event[key]
            if key == "parentID":
                out.append(f"parentID={self.uri(value)}")
            elif key.endswith("QuantityList") or key == "quantityList":
                out.append(key + "".join(sorted(self.quantity(element) for element in value)))
            elif value:
                out.append(key + "".join(sorted(f"epc={self.uri(epc)}" for epc in value)))
        if "action" in event:
            out.append(f"action={event['action'].strip()}")
        if "transformationID" in event:
            out.append(f"transformationID={self.uri(event['transformationID'])}")
        for key in ("bizStep", "disposition"):
            if key in event:
                out.append(f"{key}={self.vocabulary(event[key], key)}")
        if "persistentDisposition" in event:
            persistent = event["persistentDisposition"]
            out.append("persistentDisposition" + "".join(
                f"{key}={self.vocabulary(value, 'disposition')}"
                for key in ("set", "unset") for value in sorted(persistent.get(key, []))))
        for key in ("readPoint", "bizLocation"):
            if key in event:
                out.append(f"{key}id={self.uri(event[key]['id'])}" + self.extensions(event[key], {"id"}))
        if event.get("bizTransactionList"):
            out.append("bizTransactionList" + "".join(sorted(
                self.typed(element, "bizTransaction", "bizTransactionType") for element in event["bizTransactionList"])))
        for key, item in (("destinationList", "destination"), ("sourceList", "source")):
            if event.get(key):
                out.append(key + "".join(sorted(self.typed(element, item, "sourceDestType") for element in event[key])))
        if event.get("sensorElementList"):
            out.append("sensorElementList" + "".join(sorted(self.sensor_element(e) for e in event["sensorElementList"])))
        if "ilmd" in event:
            out.append("ilmd" + self.extensions(event["ilmd"], set()))
        out.append(self.extensions(event, _NOT_HASHED))
        return "".join(out)

    def quantity(self, element: Mapping[str, Any]) -> str:
        text = f"quantityElementepcClass={self.uri(element['epcClass'])}"
        if "quantity" in element:
            text += f"quantity={number(element['quantity'])}"
        if "uom" in element:
            text += f"uom={element['uom'].strip()}"
        return text

    def typed(self, element: Mapping[str, Any], key: str, vocabulary: str) -> str:
        """A business transaction, source or destination: its type (if any) first, then its value."""
        text = f"type={self.vocabulary(element['type'], vocabulary)}" if "type" in element else ""
        return text + f"{key}={self.uri(element[key])}"

    def sensor_element(self, element: Mapping[str, Any]) -> str:
        text = "sensorElement"
        if "sensorMetadata" in element:
            text += "sensorMetadata" + self.fields(element["sensorMetadata"], _SENSOR_METADATA)
        reports = sorted("sensorReport" + self.fields(report, _SENSOR_REPORT) for report in element.get("sensorReport", []))
        return text + "".join(reports) + self.extensions(element, {"sensorMetadata", "sensorReport"})

    def fields(self, item: Mapping[str, Any], order: tuple[str, ...]) -> str:
        """Standard fields of a sensor part in their order, then its extensions."""
        out = []
        for key in order:
            if key not in item:
                continue
            value = item[key]
            if key in ("time", "startTime", "endTime"):
                out.append(f"{key}={timestamp(value)}")
            elif key in ("type", "exception"):
                out.append(f"{key}={self.gs1_term(value)}")
            elif key == "component":
                out.append(f"{key}={self.vocabulary(value, 'component')}")
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                out.append(f"{key}={number(value)}")
            elif isinstance(value, bool):
                out.append(f"{key}={'true' if value else 'false'}")
            elif key in ("uom", "stringValue", "hexBinaryValue", "dataProcessingMethod") and ":" not in str(value):
                out.append(f"{key}={str(value).strip()}")
            else:
                out.append(f"{key}={self.uri(str(value))}")
        return "".join(out) + self.extensions(item, set(order))

    def extensions(self, item: Mapping[str, Any], standard: set[str] | frozenset[str]) -> str:
        """The user extensions among ``item``'s keys, each ``{ns}name=value`` (nested ones in their
        parent), sorted."""
        parts = []
        for key, value in item.items():
            if key in standard:
                continue
            name = self.name(key)
            if name is None or name in _COMMENTS or name.replace("{", "").replace("}", "") in self.ignore:
                continue
            parts.extend(self.extension(name, value))
        return "".join(sorted(parts))

    def extension(self, name: str, value: Any) -> list[str]:
        if isinstance(value, list):
            return [text for element in value for text in self.extension(name, element)]
        if isinstance(value, dict):
            if "@value" in value:
                return self.extension(name, value["@value"])
            return [name + self.extensions(value, set())]
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return [f"{name}={number(value)}"]
        if isinstance(value, bool):
            return [f"{name}={'true' if value else 'false'}"]
        if value is None:
            return [name]
        return [f"{name}={str(value).strip()}"]
