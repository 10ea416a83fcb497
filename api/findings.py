"""Findings blueprint: ``GET /v1/findings``, the inconsistencies the checks found, with their proof."""
from __future__ import annotations

from flask import Blueprint, jsonify, request
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from api.auth import current_principal
from consumers.checks.views import KINDS as CHECK_KINDS, SEVERITIES, STATUSES, Cursor, FindingsView
from consumers.impact.views import PAYOUT_FINDING_KINDS as PAYOUT_KINDS, PayoutFindings
from events.envelope import flatten_errors
from events.fields import Timestamp, parse_timestamp
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
    severity = fields.String(validate=validate.OneOf(SEVERITIES))
    site_id = fields.String(validate=validate.Length(min=1, max=200))
    organisation_id = fields.String(validate=validate.Length(min=1, max=200))
    since = Timestamp()
    until = Timestamp()
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=10**9))
    after = fields.String(validate=validate.Length(min=1, max=2000))

    @validates_schema
    def _coherent(self, data, **_kwargs):
        """A time window that ends after it starts; one way of paging at a time; a cursor of this API."""
        if "since" in data and "until" in data and parse_timestamp(data["until"]) <= parse_timestamp(data["since"]):
            raise ValidationError("Must be later than since.", "until")
        if "after" in data:
            if data["offset"]:
                raise ValidationError("Give either after (a cursor) or offset, not both.", "after")
            try:
                Cursor.decode(data["after"])
            except ValueError as exc:
                raise ValidationError(str(exc), "after") from None


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
    at = fields.String(allow_none=True, metadata={
        "description": "when it happened: the latest field time (occurred_at, in UTC) among its proof events; "
                       "what since and until compare"})
    lots = fields.List(fields.String(), metadata={
        "description": "lots and products it taints; a capacity finding names the month's production instead "
                       "(pitmonth:YYYY-MM:PIT or minermonth:YYYY-MM:MINER)"})


class FindingsPage(Schema):
    """A page of findings."""

    findings = fields.List(fields.Nested(FindingOut), required=True)
    total = fields.Integer(required=True)
    limit = fields.Integer(required=True)
    offset = fields.Integer(required=True)
    next_offset = fields.Integer(allow_none=True, required=True, metadata={
        "description": "offset paging: the offset of the next page; null on the last page and when paging with after"})
    next = fields.String(allow_none=True, required=True, metadata={
        "description": "cursor paging: pass it as after for the next page; null on the last page"})


def parse_query(schema: Schema, args) -> dict:
    """Load query parameters with ``schema``; a 422 naming each wrong parameter otherwise."""
    try:
        return schema.load(args.to_dict(flat=True))
    except ValidationError as exc:
        raise InvalidRequest("Invalid query parameters.", flatten_errors(exc.messages)) from None


def _order(item: dict) -> tuple[str, str, str]:
    return item["kind"], item["subject_id"], item["finding_id"]


def merged_page(findings: FindingsView, payouts: PayoutFindings | None,
                query: dict) -> tuple[list[dict], int, int | None, str | None]:
    """A page of the checks' findings (filtered, by offset or cursor) and the payouts ledger's together,
    ordered by kind, subject and id: the findings, how many match, the next offset and the next cursor.

    The ledger's findings (one per miner or cooperative at most) carry no site, organisation or time:
    pages asked with those filters hold the checks' findings only.
    """
    after = Cursor.decode(query["after"]) if "after" in query else None
    filters = {"kind": query.get("kind"), "subject": query.get("subject"), "status": query.get("status"),
               "severity": query.get("severity"), "site_id": query.get("site_id"),
               "organisation_id": query.get("organisation_id"), "since": query.get("since"), "until": query.get("until")}
    located = any(filters[name] for name in ("site_id", "organisation_id", "since", "until"))
    ledger = payouts.list(filters["kind"], filters["subject"], filters["status"]) if payouts is not None and not located else []
    ledger = [item for item in ledger if filters["severity"] in (None, item["severity"])]
    limit, offset = query["limit"], query["offset"]
    if not ledger:
        items, total, following = findings.list(limit=limit, offset=offset, after=after, **filters)
        next_offset = offset + len(items) if following is not None and after is None else None
        return items, total, next_offset, following.encode() if following is not None else None
    if after is not None:
        mark = (after.kind, after.subject_id, after.finding_id)
        ledger_left = [item for item in ledger if _order(item) > mark]
        head, total, following = findings.list(limit=limit, after=after, **filters)
        skipped = 0
    else:  # the checks' first offset + limit hold every finding of the page
        head, total, following = findings.list(limit=offset + limit, offset=0, **filters)
        ledger_left, skipped = ledger, offset
    merged = sorted(head + ledger_left, key=_order)
    items = merged[skipped:skipped + limit]
    more = len(merged) > skipped + limit or following is not None
    last = items[-1] if items else None
    cursor = Cursor(*_order(last)).encode() if more and last is not None else None
    next_offset = offset + len(items) if more and after is None else None
    return items, total + len(ledger), next_offset, cursor


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
            `custody_break`, `time_order`, `export_without_permit`, and the findings of the rights
            (`conflicting_claim`, `not_holder`, ...). `subject` matches the finding's subject or a lot it
            taints. `site_id` matches the findings about a site: its subject is the site, one of its pits
            or a miner registered there, or a production at (an inspection of) one of its pits proves it,
            or it taints a lot produced there. `organisation_id` matches those whose subject is the
            organisation or whose proof it recorded. `since` (inclusive) and `until` (exclusive) are RFC
            3339 date-times compared with the finding's `at`: the latest field time (`occurred_at`) among
            its proof events. A finding is `open` while the events prove it and `withdrawn` when later
            events resolve it. Ordered by kind, subject and id. Page with `limit` and the opaque cursor
            `after` (the `next` of the previous page: a walk sees each finding once even while new ones
            are found) or with `offset`. A wrong filter is a 422 naming the parameter. The payouts ledger's
            findings are computed when asked and merged in (on offset pages without the site, organisation or
            time filters, which they do not carry): `payout_overpaid` (a miner paid more than owed),
            `payout_overdue` (on a cooperative: obligations unpaid after `ORETRAIL_PAYOUT_OVERDUE_DAYS`),
            `payout_unauthorised` (a payment not from the miner's cooperative).
          tags: [checks]
          security: [{bearer: []}]
          parameters:
            - {name: kind, in: query, schema: {type: string, enum: [double_use, mass_gain, transit_discrepancy, inactive_pit, over_capacity, unknown_actor, custody_break, time_order, export_without_permit, conflicting_claim, not_holder, gtin_not_owned, self_resolution, unauthorised_resolution, child_labour_suspected, price_below_reference, foreign_cooperative, pit_outside_site, unverified_miner, capacity_unknown, stale_inspection, workers_mismatch, cooperative_over_capacity, royalties_unrecorded, retracted_after_use, payout_overdue, payout_overpaid, payout_unauthorised]}}
            - {name: subject, in: query, schema: {type: string}}
            - {name: status, in: query, schema: {type: string, enum: [open, withdrawn]}}
            - {name: severity, in: query, schema: {type: string, enum: [low, medium, high]}}
            - {name: site_id, in: query, schema: {type: string}}
            - {name: organisation_id, in: query, schema: {type: string}}
            - {name: since, in: query, schema: {type: string, format: date-time}}
            - {name: until, in: query, schema: {type: string, format: date-time}}
            - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 1000, default: 100}}
            - {name: after, in: query, schema: {type: string}, description: "the next of the previous page"}
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
        items, total, next_offset, following = merged_page(findings, payouts, query)
        return jsonify({"findings": items, "total": total, "limit": query["limit"], "offset": query["offset"],
                        "next_offset": next_offset, "next": following})

    return blueprint
