"""The event envelope and the validation of a submitted event against the catalogue."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from events.attestation import Attestation
from events.canonical import canonical_json, hashed_part, submitted_part
from events.catalogue import CATALOGUE
from events.compiled import Invalid, compile_schema
from events.fields import Base64Bytes, EventId, Identifier, Sha256, Text, Timestamp, parse_timestamp
from events.signing import ALG

#: how far in the future an ``occurred_at`` may lie (clock skew of a field phone), no further
FUTURE_TOLERANCE = timedelta(hours=24)


class EvidenceSchema(Schema):
    """A document behind a step: the platform keeps its hash, never the document."""

    class Meta:
        unknown = RAISE

    kind = Text(required=True, max_length=64)
    sha256 = Sha256(required=True)
    uri = Text(max_length=2000)


class SignatureSchema(Schema):
    """The organisation's own signature of the event: Ed25519 over the 32 raw bytes of its ``hash``."""

    class Meta:
        unknown = RAISE

    key_id = Identifier(required=True, metadata={"description": "a key its organisation registered "
                                                                "(organization.key_registered)"})
    alg = fields.String(required=True, validate=validate.OneOf([ALG]))
    value = Base64Bytes(64, required=True, metadata={"description": "standard base64 of the 64-byte signature"})


class EnvelopeSchema(Schema):
    """The v1 envelope; ``data`` is checked separately against the schema of ``type``."""

    class Meta:
        unknown = RAISE

    event_id = EventId(required=True)
    type = fields.String(required=True, validate=validate.OneOf(sorted(CATALOGUE)))
    occurred_at = Timestamp(required=True)
    recorded_by = Identifier(required=True)
    data = fields.Dict(required=True)
    evidence = fields.List(fields.Nested(EvidenceSchema), validate=validate.Length(max=50))
    signature = fields.Nested(SignatureSchema, metadata={
        "description": "optional: the recording organisation's Ed25519 signature of the event's hash (the hash "
                       "of the envelope without signature); see README, Signed events"})


_ENVELOPE = EnvelopeSchema()
_DATA_SCHEMAS = {name: schema_class() for name, schema_class in CATALOGUE.items()}


@dataclass(frozen=True)
class NewEvent:
    """A validated event ready to append: its stream, canonical body and content hash, and the key
    that attests it (``None`` only where no key submitted it, e.g. a test writing to the log)."""

    event_id: str
    type: str
    stream_id: str
    recorded_by: str
    body: bytes
    hash: str
    attested_by: Attestation | None = None


def validation_errors(raw: Any, now: datetime | None = None) -> dict[str, list[str]]:
    """Every error in a submitted event, as ``{path: [messages]}``; empty when it is valid.

    The compiled rules (``events.compiled``) answer first; marshmallow words the errors of what
    they refuse (and has the last word: a document it accepts is accepted)."""
    if compiled_verdict(raw, now):
        return {}
    return marshmallow_errors(raw, now)


def compiled_verdict(raw: Any, now: datetime | None = None) -> bool:
    """Whether the compiled rules accept a submitted event (the same rules as
    :func:`marshmallow_errors`, run without marshmallow's machinery; False also where a schema did
    not compile)."""
    envelope, data_schemas = _compiled()
    event_type = raw.get("type") if type(raw) is dict or isinstance(raw, Mapping) else None
    data_check = data_schemas.get(event_type) if isinstance(event_type, str) else None
    if envelope is None or data_check is None:
        return False
    try:
        envelope(raw)
        data_check(raw["data"])
    except Invalid:
        return False
    if raw["type"] == "event.retracted" and raw["data"].get("event_id") == raw["event_id"]:
        return False
    return parse_timestamp(raw["occurred_at"]) <= (now or datetime.now(timezone.utc)) + FUTURE_TOLERANCE


@cache
def _compiled() -> tuple[Any, dict[str, Any]]:
    """The envelope's and every event type's compiled rules (compiled on first use, once)."""
    return compile_schema(_ENVELOPE), {
        name: check for name, schema in _DATA_SCHEMAS.items() if (check := compile_schema(schema)) is not None}


def marshmallow_errors(raw: Any, now: datetime | None = None) -> dict[str, list[str]]:
    """Every error in a submitted event, found and worded by the marshmallow schemas."""
    if not isinstance(raw, Mapping):
        return {"": ["An event must be a JSON object."]}
    errors: dict[str, list[str]] = {}
    try:
        _ENVELOPE.load(raw)
    except ValidationError as exc:
        errors.update(flatten_errors(exc.messages))
    event_type = raw.get("type")
    data = raw.get("data")
    if isinstance(event_type, str) and event_type in _DATA_SCHEMAS and isinstance(data, Mapping):
        try:
            _DATA_SCHEMAS[event_type].load(data)
        except ValidationError as exc:
            errors.update(flatten_errors(exc.messages, prefix="data"))
    if event_type == "event.retracted" and isinstance(data, Mapping) and data.get("event_id") == raw.get("event_id"):
        errors["data.event_id"] = ["An event cannot retract itself."]
    if "occurred_at" not in errors and isinstance(raw.get("occurred_at"), str):
        moment = parse_timestamp(raw["occurred_at"])
        if moment > (now or datetime.now(timezone.utc)) + FUTURE_TOLERANCE:
            errors["occurred_at"] = ["Lies in the future."]
    return errors


def prepare(raw: Mapping[str, Any], attested_by: Attestation | None = None) -> NewEvent:
    """Turn a valid submitted event into a :class:`NewEvent` (call :func:`validation_errors` first).

    The stored body is the canonical JSON of the submitted envelope, and the hash is the SHA-256 of
    the same without ``signature`` (which signs that hash); ``attested_by`` (the submitting key) is
    stored beside it, outside the body and the hash.
    """
    body = canonical_json(submitted_part(raw))
    hashed = body if "signature" not in raw else canonical_json(hashed_part(raw))
    return NewEvent(
        event_id=raw["event_id"],
        type=raw["type"],
        stream_id=stream_of(raw["type"], raw["data"]),
        recorded_by=raw["recorded_by"],
        body=body,
        hash=hashlib.sha256(hashed).hexdigest(),
        attested_by=attested_by,
    )


def stream_of(event_type: str, data: Mapping[str, Any]) -> str:
    """The stream an event belongs to: the lot, product, site, pit, ... it is about."""
    path = CATALOGUE[event_type].stream_field
    value: Any = data
    for step in path.split("."):
        value = value[int(step)] if step.isdigit() else value[step]
    return f"{path.split('.')[-1].removesuffix('_id') or path}:{value}"


def flatten_errors(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """Flatten marshmallow's nested error messages into ``{"data.inputs.0.mass_g": [...]}``."""
    flat: dict[str, list[str]] = {}
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            path = prefix if key == "_schema" else (f"{prefix}.{key}" if prefix else str(key))
            for sub_path, texts in flatten_errors(value, path).items():
                flat.setdefault(sub_path, []).extend(texts)
    elif isinstance(messages, list) and all(isinstance(item, str) for item in messages):
        flat[prefix] = list(messages)
    elif isinstance(messages, list):
        for item in messages:
            for sub_path, texts in flatten_errors(item, prefix).items():
                flat.setdefault(sub_path, []).extend(texts)
    else:
        flat[prefix] = [str(messages)]
    return flat
