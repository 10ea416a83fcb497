"""Due-diligence blueprint: a product's due-diligence record (JSON or printable HTML), and the schemas
of the ``flags`` and ``due_diligence`` sections of its provenance (``DueDiligenceView.section``)."""
from __future__ import annotations

from datetime import datetime, timezone
from flask import Blueprint, jsonify, render_template, request
from marshmallow import RAISE, Schema, fields, validate

from api.auth import current_principal
from api.findings import FindingOut, parse_query
from consumers.diligence.views import DueDiligenceView
from consumers.provenance.views import ProvenanceView
from events.catalogue.vocabulary import (DILIGENCE_STATUSES, RESPONSE_STRATEGIES, RISK_STATUSES, SEVERITIES,
                                         SUSPENDING_STRATEGIES)
from services.errors import NotFound


class RecordQuery(Schema):
    """Query of the due-diligence record."""

    class Meta:
        unknown = RAISE

    format = fields.String(validate=validate.OneOf(("json", "html")))


class Reason(Schema):
    """Why a product is not clear: an open finding or risk, or a failed audit."""

    source = fields.String(required=True, metadata={"enum": ["finding", "risk", "audit", "response"]})
    id = fields.String(required=True)
    kind = fields.String(required=True)
    subject_id = fields.String(required=True)
    severity = fields.String(required=True)
    red = fields.Boolean(required=True)
    message = fields.String(required=True)


class RefusedResolution(Schema):
    """A ``risk.resolved`` that does not count: by the flag's subject, or by someone not entitled."""

    event_id = fields.String(required=True)
    recorded_by = fields.String(required=True)
    resolution = fields.String(required=True)
    resolved_at = fields.String(required=True)
    reason = fields.String(required=True, metadata={"enum": ["self_resolution", "unauthorised_resolution"]})


class Response(Schema):
    """The response that counts for a risk (OECD step 3): the latest plan by its flagger, a buyer of the
    flagged gold or an admin."""

    strategy = fields.String(required=True, metadata={"enum": list(RESPONSE_STRATEGIES)})
    deadline = fields.String(required=True, metadata={"format": "date"})
    measures = fields.String(allow_none=True, required=True)
    planned_by = fields.String(required=True)
    planned_at = fields.String(required=True)
    event_id = fields.String(required=True)
    hash = fields.String(required=True)
    overdue = fields.Boolean(required=True, metadata={
        "description": "the risk is open and the day of the question (UTC) is past the deadline: the status "
                       "is red. It changes with time alone, without new events"})


class RefusedResponse(Schema):
    """A ``risk.response_planned`` that does not count: by the flag's subject, or by someone not entitled."""

    event_id = fields.String(required=True)
    recorded_by = fields.String(required=True)
    strategy = fields.String(required=True)
    planned_at = fields.String(required=True)
    reason = fields.String(required=True, metadata={"enum": ["self_response", "unauthorised_response"]})


class SuspendedHandover(Schema):
    """A lot handed over by a supplier under a ``suspend`` or ``disengage`` response, after the plan."""

    flag_id = fields.String(required=True)
    plan_event_id = fields.String(required=True)
    strategy = fields.String(required=True, metadata={"enum": list(SUSPENDING_STRATEGIES)})
    planned_by = fields.String(required=True)
    planned_at = fields.String(required=True)
    supplier = fields.String(required=True)
    lot_id = fields.String(required=True)
    buyer = fields.String(required=True)
    event_id = fields.String(required=True, metadata={"description": "the lot.transferred"})
    handed_over_at = fields.String(required=True)


class RiskResponseStep(Schema):
    """OECD step 3 in the record: an open risk and its response (``strategy`` null: none planned)."""

    flag_id = fields.String(required=True)
    subject_id = fields.String(required=True)
    category = fields.String(required=True)
    severity = fields.String(required=True, metadata={"enum": list(SEVERITIES)})
    strategy = fields.String(allow_none=True, required=True, metadata={"enum": [*RESPONSE_STRATEGIES, None]})
    deadline = fields.String(allow_none=True, required=True)
    measures = fields.String(allow_none=True, required=True)
    planned_by = fields.String(allow_none=True, required=True)
    planned_at = fields.String(allow_none=True, required=True)
    overdue = fields.Boolean(required=True)


class Risk(Schema):
    """An OECD Annex II risk on a subject of the ancestry, and how it was handled."""

    flag_id = fields.String(required=True)
    subject_id = fields.String(required=True)
    category = fields.String(required=True)
    severity = fields.String(required=True, metadata={"enum": list(SEVERITIES)})
    description = fields.String(required=True)
    raised_by = fields.String(required=True)
    raised_at = fields.String(required=True)
    source = fields.String(required=True, metadata={"enum": ["reported", "inspection"]})
    event_id = fields.String(required=True)
    hash = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": list(RISK_STATUSES)})
    resolution = fields.Dict(allow_none=True, required=True)
    refused_resolutions = fields.List(fields.Nested(RefusedResolution), required=True, metadata={
        "description": "Resolutions that do not count (they leave the risk as it was) and why"})
    conflicting_raisings = fields.List(fields.String(), required=True, metadata={
        "description": "Event ids of risk.flagged events that reused this flag_id on another subject or "
                       "by another organisation: they change nothing"})
    response = fields.Nested(Response, allow_none=True, metadata={
        "description": "its OECD step-3 response (risk.response_planned), null while none is planned"})
    refused_responses = fields.List(fields.Nested(RefusedResponse), metadata={
        "description": "Plans that do not count (by the flag's subject, or not by its flagger, a buyer of the "
                       "flagged gold or an admin) and why"})


class Refining(Schema):
    """A refining of the ancestry and its recovery (gold out over gold in)."""

    node_id = fields.String(required=True)
    event_id = fields.String(required=True)
    refiner = fields.String(allow_none=True)
    refined_at = fields.String(allow_none=True)
    basis = fields.String(allow_none=True, metadata={"enum": ["fine_gold", "gross", None]})
    input_g = fields.Float(allow_none=True)
    output_g = fields.Float(allow_none=True)
    recovery = fields.Float(allow_none=True)


class DueDiligenceSummary(Schema):
    """The ``due_diligence`` section of a product's provenance."""

    status = fields.String(required=True, metadata={"enum": list(DILIGENCE_STATUSES)})
    reasons = fields.List(fields.Nested(Reason), required=True)
    risks = fields.List(fields.Nested(Risk), required=True)
    audits = fields.List(fields.Dict(), required=True)
    refinings = fields.List(fields.Nested(Refining), required=True)
    suspended_handovers = fields.List(fields.Nested(SuspendedHandover), metadata={
        "description": "lots of the ancestry a supplier handed over after a suspend or disengage response"})


class DueDiligenceRecord(Schema):
    """``GET /v1/products/{id}/due-diligence``: the record a jeweller files for a regulator."""

    product = fields.Dict(required=True)
    generated_at = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": list(DILIGENCE_STATUSES)})
    reasons = fields.List(fields.Nested(Reason), required=True)
    origin = fields.List(fields.Dict(), required=True)
    origin_basis = fields.String(required=True)
    actors = fields.Dict(required=True, metadata={
        "description": "organisations with role, country and what they recorded; miners counted, not named"})
    chain_of_custody = fields.List(fields.Dict(), required=True)
    refinings = fields.List(fields.Nested(Refining), required=True)
    findings = fields.List(fields.Nested(FindingOut), required=True)
    risks = fields.List(fields.Nested(Risk), required=True)
    risk_responses = fields.List(fields.Nested(RiskResponseStep), metadata={
        "description": "OECD step 3: every open risk with its response"})
    suspended_handovers = fields.List(fields.Nested(SuspendedHandover), metadata={
        "description": "lots of the ancestry a supplier handed over after a suspend or disengage response"})
    audits = fields.List(fields.Dict(), required=True)
    integrity = fields.Dict(required=True, metadata={"description": "hashes of every event behind the record"})


def _wants_html() -> bool:
    chosen = parse_query(RecordQuery(), request.args).get("format")
    if chosen is not None:
        return chosen == "html"
    best = request.accept_mimetypes.best_match(["application/json", "text/html"], default="application/json")
    return best == "text/html" and request.accept_mimetypes["text/html"] > request.accept_mimetypes["application/json"]


def create_blueprint(provenance: ProvenanceView, diligence: DueDiligenceView) -> Blueprint:
    """The due-diligence record's route: a product's provenance from ``provenance``, its record from ``diligence``."""
    blueprint = Blueprint("diligence", __name__, template_folder="templates")

    @blueprint.get("/v1/products/<product_id>/due-diligence")
    def due_diligence(product_id: str):
        """The due-diligence record of a product.
        ---
        get:
          summary: Due-diligence record of a product (JSON or printable HTML)
          description: >
            What a jeweller files for a regulator (OECD five steps, EU 2017/821): the origin and chain of
            custody, every organisation with its role and country, the findings of the checks and the
            risks of the whole ancestry and how they were handled, each open risk's OECD step-3 response
            (`risk_responses`: strategy, deadline, who planned it), audits, the recovery of every
            refining, the status (`red` when a high-severity risk, a risk past its response's deadline
            (compared with the day of the question: the status changes with time alone) or a double use,
            mass gain, custody break or suspected child labour is open; `attention` when anything else
            is open or a lot of the ancestry was handed over by a supplier under a `suspend` or
            `disengage` response after the plan (`suspended_handovers`); `clear` otherwise) with its reasons,
            and the integrity hashes of every event behind it. `?format=html` (or `Accept: text/html`)
            gives a printable page.
          tags: [provenance]
          security: [{bearer: []}]
          parameters:
            - {name: product_id, in: path, required: true, schema: {type: string}}
            - {name: format, in: query, schema: {type: string, enum: [json, html]}}
          responses:
            200:
              description: The record
              content:
                application/json:
                  schema: DueDiligenceRecord
                text/html:
                  schema: {type: string}
            401: {$ref: "#/components/responses/Unauthenticated"}
            404: {$ref: "#/components/responses/NotFound"}
            422: {$ref: "#/components/responses/Invalid"}
        """
        principal = current_principal()
        html = _wants_html()
        answer = provenance.product_provenance(product_id, principal.sees_restricted)
        if answer is None:
            raise NotFound(f"No product {product_id!r} has been manufactured.")
        record = diligence.record(answer, datetime.now(timezone.utc).isoformat(timespec="seconds"))
        if html:
            return render_template("due_diligence.html", record=record), 200, {"Content-Type": "text/html; charset=utf-8"}
        return jsonify(record)

    return blueprint
