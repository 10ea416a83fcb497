"""Capture blueprint: ``POST /v1/events``."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

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
        payload = request.get_json(force=True, silent=True)
        if payload is None:
            raise InvalidRequest("The body is not valid JSON.", {"": ["Not valid JSON."]})
        results = capture.capture(principal, payload)
        return jsonify({"results": [
            {"event_id": result.event_id, "status": result.status, "position": result.position} for result in results
        ]})

    return blueprint
