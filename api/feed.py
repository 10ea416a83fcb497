"""The event feed blueprint: ``GET /v1/events``, the log from a cursor, for integrators catching up."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from api import integration_schemas  # noqa: F401 - registers the answers' schemas for the OpenAPI document
from api.auth import current_principal
from events.catalogue import CATALOGUE
from services.errors import InvalidRequest
from services.feed import Feed, FeedFilter, decode_cursor, encode_cursor

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


def create_blueprint(feed: Feed) -> Blueprint:
    """The feed route over ``feed``."""
    blueprint = Blueprint("feed", __name__)

    @blueprint.get("/v1/events")
    def read_feed():
        """The event feed.
        ---
        get:
          summary: Every event of the log, oldest first, from a cursor
          description: >
            Walk the whole log: start without `after`, then pass each page's `next` as `after` until
            `caught_up` is true; poll again later with the last `next` to get what was recorded since.
            Walking from the start visits every event of the log once. Cursors are opaque, stay valid
            across restarts, and name a place in the log, never a time: on Kafka a cursor holds one
            offset per partition, and events of one stream (a lot, a product, an organisation's
            registration) keep their order; events of different streams may interleave differently
            from their positions. Events are shown as stored, with the server's fields; restricted
            fields (miners' names and photo-ID hashes, sites' coordinates) only for admin and auditor
            keys. With a filter, a page scans at most 20,000 events: it may hold fewer than `limit`
            events, or none, with `caught_up` false; go on with its `next`. On Kafka a batch retried
            after a failure may, rarely, have reached the log twice: the copy has the same `event_id`
            and `hash` (the idempotency key) and should be skipped.
          tags: [feed]
          security: [{bearer: []}]
          parameters:
            - name: after
              in: query
              description: the `next` of the previous page (none to start from the beginning of the log)
              schema: {type: string}
            - name: limit
              in: query
              description: events in the page, 1 to 1,000 (default 100)
              schema: {type: integer, minimum: 1, maximum: 1000, default: 100}
            - name: type
              in: query
              description: only events of these types (repeat the parameter or separate types by commas)
              schema: {type: array, items: {type: string}}
              style: form
              explode: true
            - name: subject
              in: query
              description: >
                only events about this id: an event is about an id when the id is its `recorded_by` or the
                value of an identifier field of its `data` (a key ending in `_id` or `_ids`, at any depth, such
                as the lots of `inputs` and `outputs`, and an audit's `auditor`): a lot, product, site, pit,
                miner, flag or organisation id
              schema: {type: string}
          responses:
            200:
              description: A page of the feed
              content:
                application/json:
                  schema: FeedPage
            401: {$ref: "#/components/responses/Unauthenticated"}
            422: {$ref: "#/components/responses/Invalid"}
            503: {$ref: "#/components/responses/Unavailable"}
        """
        principal = current_principal()
        after = decode_cursor(feed.name, request.args.get("after"))
        limit = parse_limit(request.args.get("limit"))
        page = feed.page(after, limit, parse_filter(), principal.sees_restricted)
        return jsonify({"events": page.events, "next": encode_cursor(feed.name, page.next),
                        "caught_up": page.caught_up})

    return blueprint


def parse_limit(raw: str | None, default: int = DEFAULT_LIMIT, maximum: int = MAX_LIMIT) -> int:
    """The ``limit`` query parameter; :class:`InvalidRequest` outside 1..maximum."""
    if raw in (None, ""):
        return default
    try:
        limit = int(raw)
    except ValueError:
        limit = 0
    if not 1 <= limit <= maximum:
        raise InvalidRequest(f"limit must be an integer from 1 to {maximum}.", {"limit": [f"Not in 1..{maximum}."]})
    return limit


def parse_types(values: list[str]) -> frozenset[str]:
    """Event types from repeated or comma-separated parameters; :class:`InvalidRequest` for an unknown one."""
    types = frozenset(part.strip() for value in values for part in value.split(",") if part.strip())
    unknown = sorted(types - set(CATALOGUE))
    if unknown:
        raise InvalidRequest(f"unknown event types: {', '.join(unknown)}", {"type": [f"Unknown type {t!r}." for t in unknown]})
    return types


def parse_filter() -> FeedFilter:
    """The request's ``type`` and ``subject`` filter."""
    subject = request.args.get("subject") or None
    return FeedFilter(types=parse_types(request.args.getlist("type")), subject=subject)
