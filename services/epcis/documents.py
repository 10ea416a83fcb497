"""EPCIS 2.0 documents: building them, and checking one against GS1's JSON Schema.

The check runs with format checking on (``uri``, ``date-time``): without it a bare word such as
``"bizStep": "transforming"`` would pass. It needs the format packages of ``jsonschema[format]``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cache
from importlib import resources
from typing import Any, Iterable

from jsonschema import Draft7Validator

from services.epcis.vocabulary import CONTEXT, SCHEMA_VERSION
from services.errors import InvalidRequest

#: how many schema errors a refusal lists (a broken document can have thousands)
MAX_ERRORS = 20


class InvalidDocument(InvalidRequest):
    """An EPCIS document that GS1's schema refuses; ``details`` lists ``{"path", "message"}``."""

    code = "epcis_invalid"


@dataclass(frozen=True)
class SchemaError:
    """Where a document is wrong (a JSON path) and how."""

    path: str
    message: str


@cache
def validator() -> Draft7Validator:
    """GS1's EPCIS 2.0 JSON Schema with format checking on (loaded on first use)."""
    schema = json.loads(resources.files("services.epcis").joinpath("EPCIS-JSON-Schema.json").read_text("utf-8"))
    return Draft7Validator(schema, format_checker=Draft7Validator.FORMAT_CHECKER)


def schema_errors(document: Any) -> list[SchemaError]:
    """What is wrong with ``document`` by the schema (empty if it is valid), the deepest first."""
    errors = sorted(validator().iter_errors(document), key=lambda e: (-len(e.absolute_path), e.json_path))
    return [SchemaError(error.json_path, _message(error)) for error in errors[:MAX_ERRORS]]


def _message(error: Any) -> str:
    """A schema error's message, with the message of its best sub-error for ``anyOf``/``oneOf``."""
    if error.context:
        best = min(error.context, key=lambda e: (-len(e.absolute_path), len(e.message)))
        return f"{error.message[:200]}: {best.message[:200]}"
    return error.message[:400]


def check_document(document: Any) -> None:
    """Raise :class:`InvalidDocument` unless ``document`` is a valid EPCIS 2.0 document."""
    if not isinstance(document, dict) or document.get("type") not in ("EPCISDocument", "EPCISQueryDocument"):
        raise InvalidDocument("Not an EPCIS 2.0 document: a JSON object with \"type\": \"EPCISDocument\" is expected.",
                              [{"path": "$.type", "message": "Must be EPCISDocument or EPCISQueryDocument."}])
    errors = schema_errors(document)
    if errors:
        raise InvalidDocument(f"The document does not validate against the EPCIS 2.0 JSON Schema ({len(errors)} "
                              "error(s) shown).", [{"path": e.path, "message": e.message} for e in errors])


def document_events(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The events of an EPCISDocument or an EPCISQueryDocument, in order."""
    body = document.get("epcisBody", {})
    if "eventList" in body:
        return list(body["eventList"])
    return list(body.get("queryResults", {}).get("resultsBody", {}).get("eventList", []))


def now() -> str:
    """The creation time of a document (UTC, milliseconds)."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def epcis_document(events: Iterable[dict[str, Any]], sender: str | None = None) -> dict[str, Any]:
    """An EPCISDocument holding ``events``."""
    document: dict[str, Any] = {"@context": CONTEXT, "type": "EPCISDocument", "schemaVersion": SCHEMA_VERSION,
                                "creationDate": now()}
    if sender is not None:
        document["sender"] = sender
    document["epcisBody"] = {"eventList": list(events)}
    return document


def query_document(events: Iterable[dict[str, Any]], query_name: str = "SimpleEventQuery") -> dict[str, Any]:
    """An EPCISQueryDocument answering a query with ``events``."""
    return {"@context": CONTEXT, "type": "EPCISQueryDocument", "schemaVersion": SCHEMA_VERSION,
            "creationDate": now(),
            "epcisBody": {"queryResults": {"queryName": query_name, "resultsBody": {"eventList": list(events)}}}}
