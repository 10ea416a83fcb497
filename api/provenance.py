"""Provenance blueprint, for buyers: products and lots."""
from __future__ import annotations

from flask import Blueprint, jsonify

from api.auth import current_principal
from consumers.provenance.views import ProvenanceSection, ProvenanceView, with_sections
from services.errors import NotFound


def create_blueprint(view: ProvenanceView, sections: list[ProvenanceSection]) -> Blueprint:
    """The provenance routes over ``view``; a product's answer gets the keys of every section in ``sections``."""
    blueprint = Blueprint("provenance", __name__)

    @blueprint.get("/v1/products/<product_id>/provenance")
    def product_provenance(product_id: str):
        """The full provenance of a product.
        ---
        get:
          summary: Provenance of a product
          description: >
            The product, its origin (mine sites with their share of its fine gold, computed through
            the lineage graph by mass), the lineage graph (`nodes`, `edges` with grams) and the timeline
            of every event that touched its ancestry.
          tags: [provenance]
          security: [{bearer: []}]
          parameters:
            - {name: product_id, in: path, required: true, schema: {type: string}}
          responses:
            200:
              description: The provenance
              content:
                application/json:
                  schema: Provenance
            401: {$ref: "#/components/responses/Unauthenticated"}
            404: {$ref: "#/components/responses/NotFound"}
        """
        principal = current_principal()
        answer = view.product_provenance(product_id, principal.sees_restricted, raw_timeline=True)
        if answer is None:
            raise NotFound(f"No product {product_id!r} has been manufactured.")
        return jsonify(with_sections(product_id, answer, principal, sections))

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
