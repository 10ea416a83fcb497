"""Capture blueprint: ``POST /v1/events``."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from api.auth import current_principal
from services.capture import CaptureService
from services.errors import InvalidRequest


def create_blueprint(capture: CaptureService) -> Blueprint:
    """The capture routes over ``capture``."""
    blueprint = Blueprint("capture", __name__)

    @blueprint.post("/v1/events")
    def post_events():
        """Record a batch of events, all or nothing.
        ---
        post:
          summary: Record a batch of events (at most 1,000 and 5 MB), all or nothing
          description: >
            Every event is validated against its type's schema; the batch is appended only if all are
            valid and the key may record them. `event_id` is the idempotency key: an event already
            recorded answers `duplicate` and changes nothing.
          tags: [capture]
          security: [{bearer: []}]
          requestBody:
            required: true
            content:
              application/json:
                schema: EventBatch
          responses:
            200:
              description: What became of each event, in the order sent
              content:
                application/json:
                  schema: CaptureResponse
            401: {$ref: "#/components/responses/Unauthenticated"}
            403: {$ref: "#/components/responses/Forbidden"}
            409: {$ref: "#/components/responses/Conflict"}
            413: {$ref: "#/components/responses/TooLarge"}
            422: {$ref: "#/components/responses/Invalid"}
            503: {$ref: "#/components/responses/Unavailable"}
        """
        principal = current_principal()
        read_whole_body()
        payload = request.get_json(force=True, silent=True)
        if payload is None:
            raise InvalidRequest("The body is not valid JSON.", {"": ["Not valid JSON."]})
        results = capture.capture(principal, payload)
        return jsonify({"results": [
            {"event_id": result.event_id, "status": result.status, "position": result.position} for result in results
        ]})

    return blueprint


def read_whole_body() -> bytes:
    """The request body, cached for ``get_json``; a streamed body over the limit is a 413, never truncated.

    Werkzeug refuses a ``Content-Length`` over ``MAX_CONTENT_LENGTH`` before reading, but a chunked
    body (no ``Content-Length``) is read only up to the limit and silently cut there: the JSON parser
    would then see a truncated document and the client a 422. One more byte on the raw input tells a
    body of exactly the limit from a longer one.
    """
    body = request.get_data(cache=True)
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    if request.content_length is None and limit is not None and len(body) >= limit and request.input_stream.read(1):
        raise RequestEntityTooLarge()
    return body
