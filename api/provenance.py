"""Provenance blueprint, for buyers: products and lots.

A product's provenance answer holds the first page of its timeline (most of its bytes in a long
history) and a ``timeline_next`` cursor for ``/v1/products/{id}/timeline``; ``?include=timeline``
gives the whole timeline. Answers are cached per state of the read models and carry an ``ETag``.
"""
from __future__ import annotations

import base64
import binascii

import orjson
from flask import Blueprint, jsonify, request
from marshmallow import RAISE, Schema, fields, validate

from api.answer_cache import AnswerCache, answer_response, not_modified
from api.auth import current_principal
from services.collector import collector_paused
from api.findings import parse_query
from api.json_provider import dumps_bytes
from consumers.provenance.views import ProvenanceSection, ProvenanceView, TimelinePage, with_sections
from events.fields import has_nul
from services.errors import InvalidRequest, NotFound

#: events in the first page of a timeline, when the client does not say
TIMELINE_PAGE = 100
MAX_TIMELINE_PAGE = 1000


class ProvenanceQuery(Schema):
    """What ``GET /v1/products/{id}/provenance`` may be asked."""

    class Meta:
        unknown = RAISE

    include = fields.String(validate=validate.OneOf(["timeline"]), metadata={
        "description": "`timeline`: the whole timeline in the answer, not its first page"})
    timeline_limit = fields.Integer(load_default=TIMELINE_PAGE, validate=validate.Range(min=1, max=MAX_TIMELINE_PAGE),
                                    metadata={"description": "events in the answer's first page of the timeline"})


class TimelineQuery(Schema):
    """A page of ``GET /v1/products/{id}/timeline``."""

    class Meta:
        unknown = RAISE

    after = fields.String(validate=validate.Length(min=1, max=400), metadata={
        "description": "the `next` (or `timeline_next`) cursor of the page before; from the start without it"})
    limit = fields.Integer(load_default=TIMELINE_PAGE, validate=validate.Range(min=1, max=MAX_TIMELINE_PAGE))


def timeline_cursor(sort_key: str | None) -> str | None:
    """The opaque cursor after the event of ``sort_key`` (None: no more pages)."""
    return None if sort_key is None else base64.urlsafe_b64encode(orjson.dumps({"k": sort_key})).decode().rstrip("=")


def sort_key_of(cursor: str) -> str:
    """The sort key a cursor stands for; 422 if it is not one of ours."""
    try:
        decoded = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        key = decoded["k"]
    except (binascii.Error, ValueError, TypeError, KeyError):
        raise InvalidRequest("Invalid cursor.", {"after": ["Not a cursor this API gave."]}) from None
    if not isinstance(key, str) or not key or has_nul(key):
        raise InvalidRequest("Invalid cursor.", {"after": ["Not a cursor this API gave."]})
    return key


def create_blueprint(view: ProvenanceView, sections: list[ProvenanceSection], cache: AnswerCache) -> Blueprint:
    """The provenance routes over ``view``; a product's answer gets the keys of every section in
    ``sections``; answers are kept in ``cache`` while the read models stand still."""
    blueprint = Blueprint("provenance", __name__)

    @blueprint.get("/v1/products/<product_id>/provenance")
    def product_provenance(product_id: str):
        """The provenance of a product.
        ---
        get:
          summary: Provenance of a product
          description: >
            The product, its origin (mine sites with their share of its fine gold, computed through
            the lineage graph by mass), the lineage graph (`nodes`, `edges` with grams), the findings,
            due diligence and impact of its ancestry, and the first page of the timeline of every event
            that touched its ancestry (`timeline_next` walks the rest through
            `/v1/products/{id}/timeline`; `include=timeline` gives it whole). The answer carries an
            `ETag`: sent back in `If-None-Match`, it gets a 304 while nothing changed.
          tags: [provenance]
          security: [{bearer: []}]
          parameters:
            - {name: product_id, in: path, required: true, schema: {type: string}}
            - in: query
              schema: ProvenanceQuery
          responses:
            200:
              description: The provenance
              headers:
                ETag: {description: "the answer's entity tag", schema: {type: string}}
              content:
                application/json:
                  schema: Provenance
            304: {description: "Not modified: the client's copy (`If-None-Match`) is the answer"}
            401: {$ref: "#/components/responses/Unauthenticated"}
            404: {$ref: "#/components/responses/NotFound"}
            422: {$ref: "#/components/responses/Invalid"}
        """
        principal = current_principal()
        query = parse_query(ProvenanceQuery(), request.args)
        whole = query.get("include") == "timeline"
        key = ("provenance", product_id, principal.org_id, principal.role, whole, query["timeline_limit"])
        etag = cache.etag(key)  # read before building: an answer is never filed under a newer state
        early = not_modified(etag)
        if early is not None:
            return early

        def build() -> bytes | None:
            found = view.product_provenance_paged(product_id, principal.sees_restricted, query["timeline_limit"])
            if found is None:
                return None
            answer = with_sections(product_id, found.provenance, principal, sections)  # they read the whole timeline
            if whole:
                answer["timeline"], answer["timeline_next"] = found.timeline, None
            else:
                page = found.first_page
                answer["timeline"], answer["timeline_next"] = page.events, timeline_cursor(page.last_sort_key)
            return dumps_bytes(answer)

        with collector_paused():  # a cold answer's many short-lived objects (see services.collector)
            answer = cache.get(key, build, etag)
        if answer is None:
            raise NotFound(f"No product {product_id!r} has been manufactured.")
        return answer_response(answer)

    @blueprint.get("/v1/products/<product_id>/timeline")
    def product_timeline(product_id: str):
        """A page of a product's timeline.
        ---
        get:
          summary: A page of a product's timeline
          description: >
            Every event that touched the product's ancestry, in the order things happened, a page at
            a time: walking `next` from the start visits each event of the timeline once.
          tags: [provenance]
          security: [{bearer: []}]
          parameters:
            - {name: product_id, in: path, required: true, schema: {type: string}}
            - in: query
              schema: TimelineQuery
          responses:
            200:
              description: The page
              headers:
                ETag: {description: "the page's entity tag", schema: {type: string}}
              content:
                application/json:
                  schema: TimelinePageOut
            304: {description: "Not modified"}
            401: {$ref: "#/components/responses/Unauthenticated"}
            404: {$ref: "#/components/responses/NotFound"}
            422: {$ref: "#/components/responses/Invalid"}
        """
        principal = current_principal()
        query = parse_query(TimelineQuery(), request.args)
        after = sort_key_of(query["after"]) if "after" in query else None
        key = ("timeline", product_id, principal.sees_restricted, after, query["limit"])
        etag = cache.etag(key)  # read before building: an answer is never filed under a newer state
        early = not_modified(etag)
        if early is not None:
            return early

        def build() -> bytes | None:
            page: TimelinePage | None = view.timeline_page(product_id, principal.sees_restricted, after, query["limit"])
            if page is None:
                return None
            return dumps_bytes({"product_id": product_id, "events": page.events, "next": timeline_cursor(page.last_sort_key)})

        answer = cache.get(key, build, etag)
        if answer is None:
            raise NotFound(f"No product {product_id!r} has been manufactured.")
        return answer_response(answer)

    @blueprint.get("/v1/lots/<lot_id>")
    def get_lot(lot_id: str):
        """One lot.
        ---
        get:
          summary: A lot, its holder, inputs, uses and origin
          tags: [provenance]
          security: [{bearer: []}]
          parameters:
            - {name: lot_id, in: path, required: true, schema: {type: string}}
          responses:
            200:
              description: The lot
              content:
                application/json:
                  schema: Lot
            401: {$ref: "#/components/responses/Unauthenticated"}
            404: {$ref: "#/components/responses/NotFound"}
        """
        principal = current_principal()
        answer = view.lot(lot_id, principal.sees_restricted)
        if answer is None:
            raise NotFound(f"No lot {lot_id!r} is known.")
        return jsonify(answer)

    @blueprint.get("/v1/lots/<lot_id>/events")
    def get_lot_events(lot_id: str):
        """Events about one lot.
        ---
        get:
          summary: Every event about a lot, in the order they happened
          tags: [provenance]
          security: [{bearer: []}]
          parameters:
            - {name: lot_id, in: path, required: true, schema: {type: string}}
          responses:
            200:
              description: The events, with the server's recorded_at, position and hash
              content:
                application/json:
                  schema: EventList
            401: {$ref: "#/components/responses/Unauthenticated"}
            404: {$ref: "#/components/responses/NotFound"}
        """
        principal = current_principal()
        events = view.lot_events(lot_id, principal.sees_restricted)
        if events is None:
            raise NotFound(f"No lot {lot_id!r} is known.")
        return jsonify({"lot_id": lot_id, "events": events})

    return blueprint
