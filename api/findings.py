"""Findings blueprint: ``GET /v1/findings``, the inconsistencies the checks found, with their proof."""
from __future__ import annotations

from flask import Blueprint, jsonify, request
from marshmallow import RAISE, Schema, ValidationError, fields, validate

from api.auth import current_principal
from consumers.checks.views import KINDS as CHECK_KINDS, SEVERITIES, STATUSES, FindingsView
from consumers.impact.views import PAYOUT_FINDING_KINDS as PAYOUT_KINDS, PayoutFindings
from events.envelope import flatten_errors
from services.errors import InvalidRequest

#: the checks' findings, and the payouts ledger's (computed when asked, merged in)
KINDS = CHECK_KINDS + PAYOUT_KINDS

class FindingsQuery(Schema):
    """The filters and page of ``GET /v1/findings``."""

    class Meta:
        unknown = RAISE

    kind = fields.String(validate=validate.OneOf(KINDS))
    subject = fields.String(validate=validate.Length(min=1, max=200))
    status = fields.String(validate=validate.OneOf(STATUSES))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=10**9))


class FindingOut(Schema):
    """An inconsistency between events, and the events that prove it."""

    finding_id = fields.String(required=True, metadata={"description": "stable: from kind, subject and key"})
    kind = fields.String(required=True, metadata={"enum": list(KINDS)})
    subject_id = fields.String(required=True, metadata={"description": "the lot, pit, miner or organisation"})
    severity = fields.String(required=True, metadata={"enum": list(SEVERITIES)})
    status = fields.String(required=True, metadata={
        "enum": list(STATUSES), "description": "withdrawn: later events resolved it"})
    message = fields.String(required=True)
    proof = fields.List(fields.String(), required=True, metadata={"description": "ids of the events that prove it"})
    detail = fields.Dict(required=True, metadata={"description": "the numbers behind it (grams, ratios, months)"})
    lots = fields.List(fields.String(), metadata={
        "description": "lots and products it taints; a capacity finding names the month's production instead "
                       "(pitmonth:YYYY-MM:PIT or minermonth:YYYY-MM:MINER)"})


class FindingsPage(Schema):
    """A page of findings."""

    findings = fields.List(fields.Nested(FindingOut), required=True)
    total = fields.Integer(required=True)
    limit = fields.Integer(required=True)
    offset = fields.Integer(required=True)
    next_offset = fields.Integer(allow_none=True, required=True)


def parse_query(schema: Schema, args) -> dict:
    """Load query parameters with ``schema``; a 422 naming each wrong parameter otherwise."""
    try:
        return schema.load(args.to_dict(flat=True))
    except ValidationError as exc:
        raise InvalidRequest("Invalid query parameters.", flatten_errors(exc.messages)) from None


def merged_page(findings: FindingsView, payouts: PayoutFindings | None, query: dict) -> tuple[list[dict], int]:
    """A page of the checks' findings and the payouts ledger's together, ordered by kind, subject and id."""
    filters = {"kind": query.get("kind"), "subject": query.get("subject"), "status": query.get("status")}
    extra = payouts.list(**filters) if payouts is not None else []
    if not extra:
        return findings.list(**filters, limit=query["limit"], offset=query["offset"])
    # the ledger's findings are few (one per miner or cooperative at most): merge them into the
    # checks' first offset + limit, which is all the page can hold
    head, total = findings.list(**filters, limit=query["offset"] + query["limit"], offset=0)
    merged = sorted(head + extra, key=lambda item: (item["kind"], item["subject_id"], item["finding_id"]))
    return merged[query["offset"]:query["offset"] + query["limit"]], total + len(extra)


def create_blueprint(findings: FindingsView, payouts: PayoutFindings | None = None) -> Blueprint:
    """The findings route over ``findings`` (and the payouts ledger's findings, if given)."""
    blueprint = Blueprint("findings", __name__)

    @blueprint.get("/v1/findings")
    def list_findings():
        """Findings of the checks.
        ---
        get:
          summary: Findings of the custody checks, filtered and paged
          description: >
            Every inconsistency the checks found between recorded events ("spot the liar"): `double_use`,
            `mass_gain`, `transit_discrepancy`, `inactive_pit`, `over_capacity`, `unknown_actor`,
            `custody_break`, `time_order`, `export_without_permit`; and those of the payouts ledger,
            computed when asked: `payout_overpaid` (a miner paid more than owed), `payout_overdue` (on a
            cooperative: obligations unpaid after `ORETRAIL_PAYOUT_OVERDUE_DAYS`), `payout_unauthorised`
            (a payment not from the miner's cooperative). `subject` matches the finding's
            subject or a lot it taints. A finding is `open` while the events prove it and `withdrawn`
            when later events resolve it. Ordered by kind, subject and id.
          tags: [checks]
          security: [{bearer: []}]
          parameters:
            - {name: kind, in: query, schema: {type: string, enum: [double_use, mass_gain, transit_discrepancy, inactive_pit, over_capacity, unknown_actor, custody_break, time_order, export_without_permit, payout_overdue, payout_overpaid, payout_unauthorised]}}
            - {name: subject, in: query, schema: {type: string}}
            - {name: status, in: query, schema: {type: string, enum: [open, withdrawn]}}
            - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 1000, default: 100}}
            - {name: offset, in: query, schema: {type: integer, minimum: 0, default: 0}}
          responses:
            200:
              description: A page of findings
              content:
                application/json:
                  schema: FindingsPage
            401: {$ref: "#/components/responses/Unauthenticated"}
            422: {$ref: "#/components/responses/Invalid"}
        """
        current_principal()
        query = parse_query(FindingsQuery(), request.args)
        items, total = merged_page(findings, payouts, query)
        following = query["offset"] + len(items)
        return jsonify({"findings": items, "total": total, "limit": query["limit"], "offset": query["offset"],
                        "next_offset": following if following < total else None})

    return blueprint
