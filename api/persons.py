"""Persons blueprint: ``POST /v1/persons/{person_id}/erasure``, erasing a person's personal data (admin only)."""
from __future__ import annotations

from flask import Blueprint, jsonify, request
from marshmallow import RAISE, Schema, ValidationError, fields

from api.auth import current_principal
from events.envelope import flatten_errors
from events.fields import Text
from services.capture import CaptureService
from services.erasure import erase_person
from services.errors import Forbidden, InvalidRequest


class ErasureRequest(Schema):
    """Why the person is erased (kept in the log: write no personal data in it)."""

    class Meta:
        unknown = RAISE

    reason = Text(required=True, max_length=2000)


class ErasureOut(Schema):
    """What the erasure did: the key is destroyed, and ``person.erased`` recorded (or was already)."""

    person_id = fields.String(required=True)
    erased = fields.Boolean(required=True)
    event_id = fields.String(required=True, metadata={"description": "the person.erased event (one per person)"})
    status = fields.String(required=True, metadata={"enum": ["accepted", "duplicate", "already_erased"]})
    position = fields.Integer(allow_none=True, required=True)


def create_blueprint(capture: CaptureService) -> Blueprint:
    """The erasure route, recording through ``capture`` (which destroys the key before appending)."""
    blueprint = Blueprint("persons", __name__)

    @blueprint.post("/v1/persons/<person_id>/erasure")
    def erase(person_id: str):
        """Erase a person.
        ---
        post:
          summary: Erase a person's personal data (crypto-shredding); admin keys only
          description: >
            Destroys the person's data key, so the sealed personal fields of their events (name,
            photo-ID hash, birth year) can never be opened again, and records `person.erased`. Every
            answer then shows the person with `erased: true` and no personal field; lineage, grams,
            checks and aggregates stay as they were, and the log still verifies. A second erasure
            answers `already_erased`. Personal data sent later for the same id is refused (409).
          tags: [persons]
          security: [{bearer: []}]
          parameters:
            - {name: person_id, in: path, required: true, schema: {type: string}}
          requestBody:
            required: true
            content:
              application/json:
                schema: ErasureRequest
          responses:
            200:
              description: The person is erased
              content:
                application/json:
                  schema: ErasureOut
            401: {$ref: "#/components/responses/Unauthenticated"}
            403: {$ref: "#/components/responses/Forbidden"}
            422: {$ref: "#/components/responses/Invalid"}
        """
        principal = current_principal()
        if not principal.is_admin:
            raise Forbidden("Only an admin key may erase a person (rule persons.erasure).")
        try:
            body = ErasureRequest().load(request.get_json(silent=True) or {})
        except ValidationError as exc:
            raise InvalidRequest("Invalid erasure request.", flatten_errors(exc.messages)) from None
        return jsonify(ErasureOut().dump(erase_person(capture, principal, person_id, body["reason"])))

    return blueprint
