"""Impact blueprint, for monitoring staff: indicator tables (JSON, CSV) and the dashboard page."""
from __future__ import annotations

import csv
import io
from typing import Any

from flask import Blueprint, Response, jsonify, render_template, request
from marshmallow import Schema, ValidationError

from api.auth import current_principal
from api.dashboard import dashboard_context, language_context
from api.impact_schemas import ImpactQuery
from consumers.impact.views import ImpactView, Scope, TableRequest
from events.envelope import flatten_errors
from services.errors import InvalidRequest

CSV_COLUMNS = ("period", "indicator", "category", "gender", "age_band", "value", "n", "suppressed")


def parse_query(schema: Schema, args: Any) -> dict[str, Any]:
    """The validated query string; InvalidRequest (422) naming each wrong parameter."""
    try:
        return schema.load(args.to_dict())
    except ValidationError as exc:
        raise InvalidRequest("Some query parameters are invalid.", flatten_errors(exc.messages)) from None


def table_request(view: ImpactView, query: dict[str, Any]) -> TableRequest:
    """A table request from a validated query (missing months filled in from the data)."""
    first, last = view.default_range(query.get("from_"), query.get("to"))
    if first > last:
        raise InvalidRequest("The period is empty.", {"from": ["Must not be after `to`."]})
    by = () if query["by"] == "none" else tuple(part for part in ("gender", "age_band") if part in query["by"])
    return TableRequest(Scope(query.get("site_id"), query.get("cooperative_id")), first, last,
                        query["period"], by, query["currency"])


def cells_csv(cells: list[dict[str, Any]]) -> str:
    """The cells as CSV, one per line; a suppressed cell has an empty value and n."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    for cell in cells:
        writer.writerow({**cell, "category": cell.get("category") or "", "suppressed": "true" if cell.get("suppressed") else "false"})
    return out.getvalue()


def create_blueprint(view: ImpactView) -> Blueprint:
    """The impact routes (indicator tables and the dashboard) over ``view``."""
    blueprint = Blueprint("impact", __name__, template_folder="templates")

    @blueprint.get("/v1/impact")
    def impact_table():
        """Impact indicators of a site, a cooperative or everything, by period and gender.
        ---
        get:
          summary: Community impact indicators, gender-disaggregated
          description: >
            Every indicator (miners by work role, production and sales per miner, price per gram received,
            gender gaps, survey income and control over income, savings groups, trainings, leadership) for
            each period, broken down by gender and/or age band. Each cell has `n`, the people it is computed
            from. For every key but an admin's, a cell from fewer than 5 people is `suppressed: true` with no
            value, and a second cell is hidden where a total would reveal it. `format=csv` or
            `Accept: text/csv` gives the same cells as CSV.
          tags: [impact]
          security: [{bearer: []}]
          parameters:
            - {name: site_id, in: query, schema: {type: string}}
            - {name: cooperative_id, in: query, schema: {type: string}}
            - {name: from, in: query, schema: {type: string, example: "2025-01"}}
            - {name: to, in: query, schema: {type: string, example: "2026-12"}}
            - {name: period, in: query, schema: {type: string, enum: [month, year, range], default: month}}
            - {name: by, in: query, schema: {type: string, enum: [gender, age_band, "gender,age_band", none], default: gender}}
            - {name: currency, in: query, schema: {type: string, default: USD}}
            - {name: format, in: query, schema: {type: string, enum: [json, csv]}}
          responses:
            200:
              description: The cells
              content:
                application/json:
                  schema: ImpactTable
                text/csv:
                  schema: {type: string}
            401: {$ref: "#/components/responses/Unauthenticated"}
            422: {$ref: "#/components/responses/Invalid"}
        """
        principal = current_principal()
        query = parse_query(ImpactQuery(), request.args)
        table = view.table(table_request(view, query), reveal=principal.is_admin)
        wants_csv = query.get("format") == "csv" or (
            "format" not in query and request.accept_mimetypes.best_match(["application/json", "text/csv"]) == "text/csv")
        if not wants_csv:
            return jsonify(table)
        return Response(cells_csv(table["cells"]), mimetype="text/csv",
                        headers={"Content-Disposition": 'attachment; filename="impact.csv"'})

    @blueprint.get("/impact")
    def dashboard():
        """The impact dashboard: public, and always suppressed (what any non-admin key would see).
        ---
        get:
          summary: Impact dashboard for monitoring staff (HTML, charts drawn as inline SVG)
          description: >
            Trends over time and women vs men: price per gram received, gender gaps, savings per member,
            women's shares of miners, leadership and production, work roles, trainings, survey medians and
            savings groups. Public and needs no key: it shows only what any non-admin key sees, so every cell
            from fewer than 5 people is suppressed. Takes the query of `GET /v1/impact` (but not `format`).
          tags: [impact]
          parameters:
            - {name: site_id, in: query, schema: {type: string}}
            - {name: cooperative_id, in: query, schema: {type: string}}
            - {name: from, in: query, schema: {type: string}}
            - {name: to, in: query, schema: {type: string}}
            - {name: period, in: query, schema: {type: string, enum: [month, year, range]}}
            - {name: lang, in: query, schema: {type: string, enum: [en, fr]}, description: "the page's language (else Accept-Language)"}
          responses:
            200:
              description: The page
              content:
                text/html:
                  schema: {type: string}
            422:
              description: Invalid query (the page, with the errors)
              content:
                text/html:
                  schema: {type: string}
        """
        words = language_context(request.args.get("lang"), request.accept_languages, request.args)
        args = request.args.copy()
        args.pop("lang", None)
        try:
            query = parse_query(ImpactQuery(), args)
            table = table_request(view, query)
        except InvalidRequest as error:
            return render_template("impact.html", error=error, details=error.details, scopes=view.scopes(),
                                   query=args, **words), 422
        return render_template("impact.html", error=None, query=args,
                               **{**dashboard_context(view, table, words["lang"]), **words})

    return blueprint
