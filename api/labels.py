"""Labels blueprint, for jewellers: a printable A4 sheet of QR labels for a list of pieces."""
from __future__ import annotations

from flask import Blueprint, Response, render_template, request

from api.auth import current_principal
from api.i18n import Translator
from api.public import public_url
from api.qr import qr_inline_svg
from consumers.provenance.public_views import PublicProvenanceView
from events.fields import IDENTIFIER_PATTERN
from services.errors import InvalidRequest, NotFound

#: labels on one request (a few A4 sheets of 24)
MAX_LABELS = 240


def create_blueprint(view: PublicProvenanceView, public_base_url: str) -> Blueprint:
    """The label sheet's route: pieces from ``view``, QR codes of their pages under ``public_base_url``."""
    blueprint = Blueprint("labels", __name__)

    @blueprint.get("/v1/labels")
    def label_sheet():
        """A printable sheet of QR labels.
        ---
        get:
          summary: Printable A4 sheet of QR labels (HTML with print CSS), 24 labels a page
          description: >
            One label per `product_id`, in the order given: the QR code of the piece's public page,
            its description, id, GTIN and serial. Open it in a browser and print on A4 (70 x 37 mm labels).
          tags: [public]
          security: [{bearer: []}]
          parameters:
            - name: product_id
              in: query
              required: true
              description: one or more (at most 240) product ids
              schema: {type: array, items: {type: string}}
              style: form
              explode: true
          responses:
            200: {description: The label sheet, content: {text/html: {}}}
            401: {$ref: "#/components/responses/Unauthenticated"}
            404: {$ref: "#/components/responses/NotFound"}
            422: {$ref: "#/components/responses/Invalid"}
        """
        current_principal()
        product_ids = request.args.getlist("product_id")
        errors = {}
        if not product_ids:
            errors["product_id"] = ["Give at least one product_id."]
        elif len(product_ids) > MAX_LABELS:
            errors["product_id"] = [f"At most {MAX_LABELS} labels in one sheet, not {len(product_ids)}."]
        else:
            for index, product_id in enumerate(product_ids):
                if not IDENTIFIER_PATTERN.fullmatch(product_id):
                    errors[f"product_id.{index}"] = ["Not an identifier ([A-Za-z0-9._:-], 1 to 128 characters)."]
        if errors:
            raise InvalidRequest("The label sheet request is malformed.", errors)
        products = view.products(sorted(set(product_ids)))
        missing = [product_id for product_id in product_ids if product_id not in products]
        if missing:
            raise NotFound(f"No product {', '.join(repr(m) for m in missing[:10])} has been manufactured.",
                           {"product_id": missing})
        urls = {product_id: public_url(public_base_url, product_id) for product_id in product_ids}
        labels = [{**products[product_id], "product_id": product_id, "url": urls[product_id],
                   "qr": qr_inline_svg(urls[product_id])} for product_id in product_ids]
        html = render_template("labels.html", labels=labels, en=Translator("en"), fr=Translator("fr"))
        response = Response(html, mimetype="text/html")
        response.headers["Cache-Control"] = "private, no-store"
        return response

    return blueprint
