"""Evidence blueprint: a product's history as stored in the log, proven against one signed checkpoint.

For any API key, like the provenance. A key that may not see restricted fields (names, photo-ID
hashes, coordinates) gets the events carrying them without their body: hash, signature and proof
only (``services.evidence_bundle``). ``oretrail verify BUNDLE`` checks the answer offline.
"""
from __future__ import annotations

from flask import Blueprint, jsonify
from marshmallow import Schema, fields

from api.auth import current_principal
from consumers.provenance.history_views import HistoryView
from services.errors import NotFound
from services.evidence_bundle import EvidenceBundler


class EvidenceEntry(Schema):
    """One event of the bundle: its stored body, where it sits in the tree and the proof of it."""

    event_id = fields.String(required=True)
    type = fields.String(required=True)
    recorded_by = fields.String(required=True)
    recorded_at = fields.String(required=True, metadata={"description": "server time (not covered by the hash)"})
    position = fields.Integer(required=True)
    hash = fields.String(required=True, metadata={"description": "hex SHA-256 of the canonical body without signature"})
    attested_by = fields.Dict(required=True, allow_none=True,
                              metadata={"description": "the API key that recorded it (server's word, not proven)"})
    leaf_index = fields.Integer(required=True)
    signature = fields.Dict(required=True, allow_none=True,
                            metadata={"description": "{key_id, alg, value}: Ed25519 over the 32 bytes of hash"})
    body = fields.String(required=True, allow_none=True,
                         metadata={"description": "the event exactly as the log stores it (JSON text); null if withheld"})
    withheld = fields.String(required=True, allow_none=True, metadata={"description": "why the body is left out"})
    proof = fields.List(fields.String(), required=True,
                        metadata={"description": "RFC 9162 inclusion proof (base64) against the checkpoint's tree"})


class EvidenceKey(Schema):
    """An organisation's signing key, as its ``organization.key_registered`` states it."""

    key_id = fields.String(required=True)
    organisation = fields.String(required=True)
    public_key = fields.String(required=True, metadata={"description": "base64 of the 32-byte Ed25519 key"})
    valid_from = fields.String(required=True)
    registered_at = fields.String(required=True)
    revoked_at = fields.String(metadata={"description": "present only if revoked"})
    event_id = fields.String(required=True, metadata={"description": "its registration, an entry of key_events"})


class EvidenceBundle(Schema):
    """A product's evidence bundle (format ``oretrail-evidence/1``)."""

    format = fields.String(required=True)
    product_id = fields.String(required=True)
    generated_at = fields.String(required=True)
    log_key = fields.String(required=True, metadata={"description": "the note verifier key of the checkpoint"})
    checkpoint = fields.String(required=True, metadata={"description": "C2SP tlog-checkpoint as a C2SP signed-note"})
    tree_size = fields.Integer(required=True)
    events = fields.List(fields.Nested(EvidenceEntry), required=True)
    keys = fields.List(fields.Nested(EvidenceKey), required=True)
    key_events = fields.List(fields.Nested(EvidenceEntry), required=True)


def create_blueprint(history: HistoryView, bundler: EvidenceBundler) -> Blueprint:
    """The evidence route: the history of ``history``, proven by ``bundler``."""
    blueprint = Blueprint("evidence", __name__)

    @blueprint.get("/v1/products/<product_id>/evidence")
    def product_evidence(product_id: str):
        """A product's evidence bundle.
        ---
        get:
          summary: Evidence bundle of a product, checkable offline (`oretrail verify BUNDLE`)
          description: >
            One document: the latest signed checkpoint of the log (a new one is signed if it does not
            cover every event of the history), the log's verifier key, every event of the piece's
            history (the registrations of its origin's sites, pits and miners, then its timeline)
            exactly as the log stores it, with its leaf index and its RFC 9162 inclusion proof against
            that checkpoint, and the public keys (with their registrations, proven the same way) of the
            organisations that signed any of them. A key that may not see restricted fields (names,
            photo-ID hashes, coordinates: any role but admin and auditor) gets the events that carry
            them with `body: null` and `withheld` saying so: their hash, signature and proof still
            prove they are in the log. Check the log key against one obtained elsewhere.
          tags: [transparency]
          security: [{bearer: []}]
          parameters:
            - {name: product_id, in: path, required: true, schema: {type: string}}
          responses:
            200:
              description: The bundle
              content:
                application/json:
                  schema: EvidenceBundle
            401: {$ref: "#/components/responses/Unauthenticated"}
            404: {$ref: "#/components/responses/NotFound"}
        """
        principal = current_principal()
        event_ids = history.product_history(product_id)
        if event_ids is None:
            raise NotFound(f"No product {product_id!r} has been manufactured.")
        return jsonify(bundler.bundle(product_id, event_ids, principal.sees_restricted))

    return blueprint
