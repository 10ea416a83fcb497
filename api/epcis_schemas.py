"""EPCIS blueprint's answers: the RFC 7807 problem, the capture job and the EPCIS documents as the
OpenAPI document describes them (the documents are checked in full against GS1's JSON Schema)."""
from __future__ import annotations

from marshmallow import INCLUDE, Schema, fields


class Problem(Exception):
    """An RFC 7807 problem: its EPCIS exception type, status, title, detail and where (``errors``)."""

    def __init__(self, status: int, kind: str, title: str, detail: str, errors: list[dict[str, str]] | None = None):
        super().__init__(detail)
        self.status, self.kind, self.title, self.detail, self.errors = status, kind, title, detail, errors or []


class V1EventRef(Schema):
    """A v1 event an EPCIS event became."""

    event_id = fields.String(required=True)
    type = fields.String(required=True)
    position = fields.Integer(metadata={"description": "its position in the log (absent if it was refused)"})


class CaptureJobEvent(Schema):
    """What became of one EPCIS event of a captured document."""

    index = fields.Integer(required=True, metadata={"description": "its place in the document's eventList"})
    eventID = fields.String(required=True, metadata={"description": "its eventID (the GS1 event hash if it had none)"})
    status = fields.String(required=True, metadata={
        "description": "recorded, duplicate (recorded before), refused (capture refused the v1 event: see reason) "
                       "or not_mappable (no v1 event says this: see reason)",
        "enum": ["recorded", "duplicate", "refused", "not_mappable"]})
    v1_events = fields.List(fields.Nested(V1EventRef), required=True)
    reason = fields.String(metadata={"description": "why it was refused or could not be mapped"})


class CaptureJob(Schema):
    """An EPCIS capture job (the EPCIS 2.0 REST bindings' fields, and ``events``)."""

    captureID = fields.String(required=True)
    running = fields.Boolean(required=True)
    success = fields.Boolean(required=True, metadata={"description": "every event recorded (or a duplicate)"})
    captureErrorBehaviour = fields.String(required=True, metadata={"enum": ["proceed"]})
    createdAt = fields.String(required=True)
    events = fields.List(fields.Nested(CaptureJobEvent), required=True)
    errors = fields.List(fields.String(), required=True)


class EpcisDocument(Schema):
    """A GS1 EPCIS 2.0 EPCISDocument; every field as GS1's JSON Schema says
    (https://gs1.github.io/EPCIS/EPCIS-JSON-Schema.json), which it validates against."""

    class Meta:
        unknown = INCLUDE

    context = fields.Raw(required=True, data_key="@context")
    type = fields.String(required=True, metadata={"enum": ["EPCISDocument"]})
    schemaVersion = fields.String(required=True)
    creationDate = fields.String(required=True)
    epcisBody = fields.Dict(required=True, metadata={"description": "{eventList: [EPCIS events]}"})


class EpcisQueryDocument(Schema):
    """A GS1 EPCIS 2.0 EPCISQueryDocument (the answer to a query), valid by GS1's JSON Schema."""

    class Meta:
        unknown = INCLUDE

    context = fields.Raw(required=True, data_key="@context")
    type = fields.String(required=True, metadata={"enum": ["EPCISQueryDocument"]})
    schemaVersion = fields.String(required=True)
    creationDate = fields.String(required=True)
    epcisBody = fields.Dict(required=True, metadata={"description": "{queryResults: {queryName, resultsBody: {eventList}}}"})


class ProblemLocation(Schema):
    """Where a document or query is wrong."""

    path = fields.String(required=True, metadata={"description": "a JSON path in the document, or a parameter"})
    message = fields.String(required=True)


class EpcisProblem(Schema):
    """An RFC 7807 problem with the EPCIS exception type."""

    type = fields.String(required=True, metadata={"description": "e.g. epcisException:ValidationException"})
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    instance = fields.String(required=True)
    errors = fields.List(fields.Nested(ProblemLocation), required=True)


class CaptureAccepted(Schema):
    """The answer to a capture: the id of its job (also in ``Location``)."""

    captureID = fields.String(required=True)
