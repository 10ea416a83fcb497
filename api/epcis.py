"""EPCIS blueprint: GS1 EPCIS 2.0 out (a product's history, a query over every event) and in (capture).

Documents are JSON-LD (``application/ld+json``) with the ``GS1-EPCIS-Version`` and
``GS1-CBV-Version`` headers of the EPCIS 2.0 REST bindings; what is wrong with a query or a
document is an RFC 7807 problem (``application/problem+json``) saying where.
"""
from __future__ import annotations

import base64
import binascii
import re
from datetime import timezone
from typing import Any

import orjson
from flask import Blueprint, Response, redirect, request, url_for

from api.auth import current_principal
from api.capture import read_whole_body
from api.epcis_schemas import Problem
from consumers.provenance.epcis_views import EpcisView, EventQuery
from events.fields import RFC3339_PATTERN, parse_timestamp
from services.epcis.capture_jobs import EpcisCapture
from services.epcis.documents import InvalidDocument, epcis_document, query_document
from services.epcis.exporting import EpcisExporter
from services.epcis.identifiers import Identifiers, named
from services.epcis.importing import biz_step_word
from services.epcis.mapping import MAPPED_TYPES
from services.epcis.vocabulary import CBV_VERSION, EPCIS_VERSION
from services.errors import NotFound

LD_JSON = "application/ld+json"
PROBLEM_JSON = "application/problem+json"
VERSION_HEADERS = {"GS1-EPCIS-Version": EPCIS_VERSION, "GS1-CBV-Version": CBV_VERSION}
QUERY_PARAMETERS = ("GE_eventTime", "LT_eventTime", "EQ_bizStep", "MATCH_anyEPC", "MATCH_anyEPCClass",
                    "perPage", "nextPageToken")
DEFAULT_PER_PAGE, MAX_PER_PAGE = 30, 1000
#: a page token is the (base64url) sort key of the previous page's last event: UTC time, then its id
PAGE_KEY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z\|[0-9a-f-]{36}")


def problem_response(problem: Problem) -> Response:
    """A problem as ``application/problem+json``."""
    body = {"type": problem.kind, "title": problem.title, "status": problem.status, "detail": problem.detail,
            "instance": request.path, "errors": problem.errors}
    return Response(orjson.dumps(body), status=problem.status, mimetype=PROBLEM_JSON, headers=VERSION_HEADERS)


def ld_response(document: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    """An EPCIS document as ``application/ld+json`` with the version headers."""
    return Response(orjson.dumps(document), mimetype=LD_JSON, headers={**VERSION_HEADERS, **(headers or {})})


def _utc_key(name: str, text: str) -> str:
    """An RFC 3339 time as the read model's sort-key prefix (UTC, microseconds)."""
    if not RFC3339_PATTERN.fullmatch(text):
        raise Problem(400, "epcisException:QueryParameterException", "Invalid query parameter",
                      f"{name} must be an RFC 3339 date-time with a zone.", [{"path": name, "message": "Not a date-time."}])
    return parse_timestamp(text).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _values(text: str) -> list[str]:
    """The values of a list parameter (``|`` or ``,`` between them)."""
    return [value.strip() for value in text.replace(",", "|").split("|") if value.strip()]


def _bad(name: str, message: str) -> Problem:
    return Problem(400, "epcisException:QueryParameterException", "Invalid query parameter", message,
                   [{"path": name, "message": message}])


def create_blueprint(view: EpcisView, importer: EpcisCapture, base_url: str) -> Blueprint:
    """The EPCIS routes over ``view`` (export) and ``importer`` (capture); URIs under ``base_url``."""
    blueprint = Blueprint("epcis", __name__)
    exporter = EpcisExporter(Identifiers(base_url), view.pieces, view.retractions)
    blueprint.register_error_handler(Problem, problem_response)
    blueprint.register_error_handler(InvalidDocument, lambda error: problem_response(Problem(
        400, "epcisException:ValidationException", "Invalid EPCIS document", error.message, error.details)))

    @blueprint.get("/v1/products/<product_id>/epcis")
    def product_epcis(product_id: str):
        """A product's history as an EPCIS 2.0 document.
        ---
        get:
          summary: The history of a product as a GS1 EPCIS 2.0 document (JSON-LD)
          description: >
            Every custody event of the piece's timeline (the provenance answer's, refused claims left
            out) as EPCIS 2.0 events, oldest first, mapped as the README's "GS1 EPCIS 2.0" table says;
            each `eventID` is the GS1 event hash (`ni:///sha-256;...?ver=CBV2.0`). Lots are
            `<public base URL>/id/lot/{lot_id}`, a piece with GTIN and serial is its GS1 Digital Link
            URI. The document validates against GS1's EPCIS 2.0 JSON Schema.
          tags: [epcis]
          security: [{bearer: []}]
          parameters:
            - {name: product_id, in: path, required: true, schema: {type: string}}
          responses:
            200:
              description: An EPCISDocument
              headers:
                GS1-EPCIS-Version: {schema: {type: string}, description: "2.0.0"}
                GS1-CBV-Version: {schema: {type: string}, description: "2.0.0"}
              content:
                application/ld+json:
                  schema: EpcisDocument
            401: {$ref: "#/components/responses/Unauthenticated"}
            404: {$ref: "#/components/responses/NotFound"}
        """
        principal = current_principal()
        events = view.product_history(product_id, principal.sees_restricted)
        if events is None:
            raise NotFound(f"No product {product_id!r} has been manufactured.")
        return ld_response(epcis_document(exporter.events(events), sender=base_url))

    @blueprint.get("/epcis/events")
    def epcis_events():
        """Query events (EPCIS 2.0 REST bindings).
        ---
        get:
          summary: EPCIS events matching a query, as an EPCISQueryDocument (JSON-LD), a page at a time
          description: >
            Oretrail's custody events as EPCIS 2.0 events, oldest first (by event time, then id).
            Filters: `GE_eventTime` and `LT_eventTime` (RFC 3339), `EQ_bizStep` (CBV words or URIs,
            several separated by `|`), `MATCH_anyEPC` / `MATCH_anyEPCClass` (lot URIs, piece URIs or
            Digital Link URIs, several separated by `|`: events about any of them). `perPage` (1 to
            1000, default 30); when there is more, the `Link` header holds the next page's URL with
            its `nextPageToken`.
          tags: [epcis]
          security: [{bearer: []}]
          parameters:
            - {name: GE_eventTime, in: query, schema: {type: string, format: date-time}}
            - {name: LT_eventTime, in: query, schema: {type: string, format: date-time}}
            - {name: EQ_bizStep, in: query, schema: {type: string}}
            - {name: MATCH_anyEPC, in: query, schema: {type: string}}
            - {name: MATCH_anyEPCClass, in: query, schema: {type: string}}
            - {name: perPage, in: query, schema: {type: integer, minimum: 1, maximum: 1000, default: 30}}
            - {name: nextPageToken, in: query, schema: {type: string}}
          responses:
            200:
              description: An EPCISQueryDocument
              headers:
                GS1-EPCIS-Version: {schema: {type: string}, description: "2.0.0"}
                GS1-CBV-Version: {schema: {type: string}, description: "2.0.0"}
                Link: {schema: {type: string}, description: '<next page URL>; rel="next", when there is more'}
              content:
                application/ld+json:
                  schema: EpcisQueryDocument
            400:
              description: An invalid query parameter (RFC 7807)
              content:
                application/problem+json:
                  schema: EpcisProblem
            401: {$ref: "#/components/responses/Unauthenticated"}
        """
        principal = current_principal()
        query, per_page = parse_query(request.args, view)
        events, last = view.query(query, per_page, principal.sees_restricted)
        headers = {}
        if last is not None:
            args = {**request.args.to_dict(), "nextPageToken": base64.urlsafe_b64encode(last.encode()).decode()}
            # under the public base URL, as a client outside any proxy reaches it
            headers["Link"] = f'<{base_url}{url_for("epcis.epcis_events", **args)}>; rel="next"'
        return ld_response(query_document(exporter.events(events)), headers)

    @blueprint.post("/epcis/capture")
    def epcis_capture():
        """Capture an EPCIS 2.0 document.
        ---
        post:
          summary: Import an EPCIS 2.0 document (JSON-LD); its events become v1 events where they can
          description: >
            The document is checked against GS1's EPCIS 2.0 JSON Schema (with format checking); an
            invalid one is refused whole with an RFC 7807 problem listing where it is wrong (400).
            Each event is then read as a v1 event by the README's mapping table (backwards) and
            recorded through the same capture as `POST /v1/events` (same rights, validation and
            attribution to this key). The answer is 202 with `Location: /epcis/capture/{captureID}`,
            whose job says per event whether it became a v1 event (which) or why not. At most 1,000
            events and 5 MB, as for `POST /v1/events` (413).
          tags: [epcis]
          security: [{bearer: []}]
          requestBody:
            required: true
            content:
              application/ld+json:
                schema: EpcisDocument
              application/json:
                schema: EpcisDocument
          responses:
            202:
              description: Captured; the job says what became of each event
              headers:
                Location: {schema: {type: string}, description: "/epcis/capture/{captureID}"}
                GS1-EPCIS-Version: {schema: {type: string}, description: "2.0.0"}
                GS1-CBV-Version: {schema: {type: string}, description: "2.0.0"}
              content:
                application/json:
                  schema: CaptureAccepted
            400:
              description: Not JSON, or not a valid EPCIS 2.0 document (RFC 7807, `errors` says where)
              content:
                application/problem+json:
                  schema: EpcisProblem
            401: {$ref: "#/components/responses/Unauthenticated"}
            413: {$ref: "#/components/responses/TooLarge"}
            503: {$ref: "#/components/responses/Unavailable"}
        """
        principal = current_principal()
        body = read_whole_body()
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError as error:
            raise Problem(400, "epcisException:ValidationException", "Invalid EPCIS document",
                          f"The body is not valid JSON: {error}", [{"path": "$", "message": "Not valid JSON."}]) from None
        job = importer.import_document(principal, document)
        location = url_for("epcis.epcis_capture_job", capture_id=job["captureID"])
        return Response(orjson.dumps({"captureID": job["captureID"]}), status=202, mimetype="application/json",
                        headers={**VERSION_HEADERS, "Location": location})

    @blueprint.get("/epcis/capture/<capture_id>")
    def epcis_capture_job(capture_id: str):
        """A capture job.
        ---
        get:
          summary: What became of each event of a captured EPCIS document
          description: >
            Per event (in document order): `recorded` or `duplicate` with the v1 event it became (id,
            type, position), `refused` with the capture's reason (a right, a field), or `not_mappable`
            with why no v1 event says it. Only the capturing organisation's keys (and admins) see a job.
          tags: [epcis]
          security: [{bearer: []}]
          parameters:
            - {name: capture_id, in: path, required: true, schema: {type: string}}
          responses:
            200:
              description: The capture job
              headers:
                GS1-EPCIS-Version: {schema: {type: string}, description: "2.0.0"}
              content:
                application/json:
                  schema: CaptureJob
            401: {$ref: "#/components/responses/Unauthenticated"}
            404: {$ref: "#/components/responses/NotFound"}
        """
        principal = current_principal()
        job = importer.jobs.get(principal, capture_id)
        if job is None:
            raise NotFound(f"No capture job {capture_id!r} of this organisation.")
        return Response(orjson.dumps(job), mimetype="application/json", headers=VERSION_HEADERS)

    @blueprint.get("/id/lot/<lot_id>")
    def lot_uri(lot_id: str):
        """A lot's URI.
        ---
        get:
          summary: Resolve a lot's URI (as EPCIS documents name lots) to the lot
          description: >
            `<public base URL>/id/lot/{lot_id}` is how EPCIS documents name a lot; it redirects (303)
            to `/v1/lots/{lot_id}`, the lot's JSON (an API key is needed there).
          tags: [epcis]
          parameters:
            - {name: lot_id, in: path, required: true, schema: {type: string}}
          responses:
            303:
              description: See the lot
              headers:
                Location: {schema: {type: string}, description: "/v1/lots/{lot_id}"}
            404: {$ref: "#/components/responses/NotFound"}
        """
        if not view.lot_exists(lot_id):
            raise NotFound(f"No lot {lot_id!r} is known.")
        return redirect(url_for("provenance.get_lot", lot_id=lot_id), code=303)

    return blueprint


def parse_query(args: Any, view: EpcisView) -> tuple[EventQuery, int]:
    """An EPCIS REST query's parameters as a read-model query and the page size."""
    unknown = sorted(set(args) - set(QUERY_PARAMETERS))
    if unknown:
        raise _bad(unknown[0], f"Unknown query parameter(s) {', '.join(unknown)}; supported: {', '.join(QUERY_PARAMETERS)}.")
    types = None
    if "EQ_bizStep" in args:
        steps = {biz_step_word(value) for value in _values(args["EQ_bizStep"])}
        types = frozenset(kind for kind, (_, _, step, _) in MAPPED_TYPES.items() if step in steps)
    subjects = None
    wanted = [value for name in ("MATCH_anyEPC", "MATCH_anyEPCClass") if name in args for value in _values(args[name])]
    if wanted or any(name in args for name in ("MATCH_anyEPC", "MATCH_anyEPCClass")):
        subjects = frozenset(filter(None, (_subject(uri, view) for uri in wanted)))
    try:
        per_page = int(args.get("perPage", DEFAULT_PER_PAGE))
    except ValueError:
        raise _bad("perPage", "perPage must be an integer.") from None
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise _bad("perPage", f"perPage must be from 1 to {MAX_PER_PAGE}.")
    after = None
    if "nextPageToken" in args:
        try:
            after = base64.b64decode(args["nextPageToken"].encode(), altchars=b"-_", validate=True).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            after = ""
        if not PAGE_KEY.fullmatch(after):
            raise _bad("nextPageToken", "Not a nextPageToken this server gave.")
    query = EventQuery(types=types, subjects=subjects, after_key=after,
                       from_key=_utc_key("GE_eventTime", args["GE_eventTime"]) if "GE_eventTime" in args else None,
                       to_key=_utc_key("LT_eventTime", args["LT_eventTime"]) if "LT_eventTime" in args else None)
    return query, per_page


def _subject(uri: str, view: EpcisView) -> str | None:
    """The lot or product id an EPC or EPC class URI names (a Digital Link piece through its GTIN and serial)."""
    found = named(uri)
    if found is None:
        return None
    if found.kind == "piece":
        gtin, _, serial = found.id.partition("/")
        return view.product_of_piece(gtin, serial)
    return found.id if found.kind in ("lot", "product") else None
