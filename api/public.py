"""Public blueprint, for consumers: the page behind the QR code, its QR code, GS1 Digital Link.

No API key here. Everything shown comes from ``PublicProvenanceView.story``, which is safe to publish.
Pages are rendered once per product, language and state of the read models, then served from a
per-process cache with an ``ETag``; a phone that reloads gets a 304.
"""
from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, redirect, render_template, request

from api.gs1 import normalise_gtin
from api.i18n import Translator, negotiate
from api.qr import qr_image
from consumers.provenance.public_views import PublicProvenanceView
from consumers.provenance.views import ProvenanceSection
from events.fields import IDENTIFIER_PATTERN

PAGE_CACHE_CONTROL = "public, max-age=60"
QR_CACHE_CONTROL = "public, max-age=86400"
VARY = "Accept-Language, Cookie"


@dataclass(frozen=True)
class RenderedPage:
    """One rendered page with its ETag and the read-model state it was built from."""

    freshness: tuple
    etag: str
    html: str


class PublicPages:
    """Renders and caches public pages; one per app (each gunicorn worker has its own).

    ``sections`` (flags, due diligence, ...) are added to each story as the public sees them; the
    list is read at each render, so a section added after wiring counts too.
    """

    def __init__(self, view: PublicProvenanceView, sections: list[ProvenanceSection], capacity: int = 512,
                 max_staleness_s: float = 1.0):
        self.view = view
        self.sections = sections
        self.capacity = capacity
        #: how long the read models' state is trusted before asking the database again (clients may
        #: already keep a page for ``max-age``=60 s, so one second more costs no honesty)
        self.max_staleness_s = max_staleness_s
        self._freshness: tuple[float, tuple] = (float("-inf"), ())
        self._pages: OrderedDict[tuple[str, str], RenderedPage] = OrderedDict()
        self._known: set[str] = set()
        self._lock = threading.Lock()

    def page(self, product_id: str, lang: str) -> RenderedPage | None:
        """The page of a product in ``lang``, re-rendered only when a read model moved; None if unknown."""
        freshness = self.freshness()
        key = (product_id, lang)
        with self._lock:
            cached = self._pages.get(key)
            if cached is not None and cached.freshness == freshness:
                self._pages.move_to_end(key)
                return cached
        story = self.view.story(product_id, self.sections)
        if story is None:
            return None
        html = render_template("public_product.html", **page_context(story, lang, product_id))
        page = RenderedPage(freshness, hashlib.sha256(html.encode()).hexdigest()[:32], html)
        with self._lock:
            self._pages[key] = page
            self._pages.move_to_end(key)
            while len(self._pages) > self.capacity:
                self._pages.popitem(last=False)
            self._known.add(product_id)
        return page

    def freshness(self) -> tuple:
        """The read models' state, asked of the database at most once per ``max_staleness_s``."""
        checked_at, state = self._freshness
        now = time.monotonic()
        if now - checked_at >= self.max_staleness_s:
            state = self.view.freshness()
            self._freshness = (now, state)
        return state

    def exists(self, product_id: str) -> bool:
        """Whether the product exists (a product once made stays made: known ones are remembered)."""
        if product_id in self._known:
            return True
        found = self.view.product_exists(product_id)
        if found:
            with self._lock:
                if len(self._known) < 100_000:
                    self._known.add(product_id)
        return found


def page_context(story: dict[str, Any], lang: str, product_id: str) -> dict[str, Any]:
    """What the product template needs: the story, the words, the places of the claim and links."""
    t = Translator(lang)
    by_country: dict[str, list[str]] = {}
    for site in story["origin"]["sites"]:
        regions = by_country.setdefault(site["country"], [])
        if site["region"] not in regions:
            regions.append(site["region"])
    places = "; ".join(f"{t.join(regions)}, {t.country(country)}" for country, regions in by_country.items())
    return {"story": story, "t": t, "lang": lang, "places": places, "self_path": public_path(product_id),
            "api_path": f"/v1/products/{quote(product_id, safe='')}/provenance"}


def public_path(product_id: str) -> str:
    """The path of a product's page."""
    return f"/p/{quote(product_id, safe='')}"


def public_url(base_url: str, product_id: str) -> str:
    """The public URL of a product's page under ``base_url`` (what its QR code encodes)."""
    return base_url + public_path(product_id)


def _language() -> str:
    return negotiate(request.args.get("lang"), request.cookies.get("lang"), request.accept_languages)


def _cached(body: bytes | str | None, etag: str, mimetype: str, cache_control: str, vary: str | None = None) -> Response:
    """A response with its ETag and caching headers, or 304 if the client already has it."""
    if request.if_none_match.contains(etag):
        response = Response(status=304)
    else:
        response = Response(body, mimetype=mimetype)
    response.set_etag(etag)
    response.headers["Cache-Control"] = cache_control
    if vary:
        response.headers["Vary"] = vary
    return response


def friendly_error(status: int, lang: str, title_key: str, body_key: str, **values: Any) -> Response:
    """A small HTML page for a piece that cannot be shown, in the visitor's language."""
    t = Translator(lang)
    html = render_template("public_not_found.html", t=t, lang=lang, self_path=request.path,
                           title=t(title_key), body=t(body_key, **values))
    response = Response(html, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Vary"] = VARY
    return response


def create_blueprint(pages: PublicPages, public_base_url: str) -> Blueprint:
    """The public routes: pages from ``pages``, QR codes of the pages' URLs under ``public_base_url``."""
    blueprint = Blueprint("public", __name__)

    def _qr(product_id: str, kind: str) -> Response:
        """The QR code of a known piece's page; the friendly 404 page otherwise."""
        if not IDENTIFIER_PATTERN.fullmatch(product_id) or not pages.exists(product_id):
            return friendly_error(404, _language(), "notfound.title", "notfound.body")
        image = qr_image(public_url(public_base_url, product_id), kind)
        return _cached(image.body, image.etag, image.mimetype, QR_CACHE_CONTROL)

    @blueprint.get("/p/<product_id>")
    def product_page(product_id: str):
        """The public page of a piece.
        ---
        get:
          summary: The consumer's page behind the QR code (HTML, English or French)
          description: >
            Where the piece's gold came from, its journey from pit to piece, who mined it (in
            aggregate only), the due-diligence status, what is not known, and how to check the record.
            Language by `?lang=en|fr`, the `lang` cookie, then `Accept-Language`. Sends an `ETag`;
            `If-None-Match` gets a 304.
          tags: [public]
          parameters:
            - {name: product_id, in: path, required: true, schema: {type: string}}
            - {name: lang, in: query, required: false, schema: {type: string, enum: [en, fr]}}
          responses:
            200: {description: The page, content: {text/html: {}}}
            304: {description: Not modified}
            404: {description: No such piece (a friendly HTML page), content: {text/html: {}}}
        """
        lang = _language()
        page = pages.page(product_id, lang) if IDENTIFIER_PATTERN.fullmatch(product_id) else None
        if page is None:
            return friendly_error(404, lang, "notfound.title", "notfound.body")
        response = _cached(page.html, page.etag, "text/html", PAGE_CACHE_CONTROL, VARY)
        if request.args.get("lang") in ("en", "fr") and request.cookies.get("lang") != lang:
            response.set_cookie("lang", lang, max_age=365 * 86400, samesite="Lax")
        return response

    @blueprint.get("/p/<product_id>/qr.svg")
    def product_qr_svg(product_id: str):
        """The QR code of a piece's page, as SVG.
        ---
        get:
          summary: QR code (SVG) encoding the public URL of the piece's page
          tags: [public]
          parameters:
            - {name: product_id, in: path, required: true, schema: {type: string}}
          responses:
            200: {description: The QR code, content: {image/svg+xml: {}}}
            304: {description: Not modified}
            404: {description: No such piece (a friendly HTML page), content: {text/html: {}}}
        """
        return _qr(product_id, "svg")

    @blueprint.get("/p/<product_id>/qr.png")
    def product_qr_png(product_id: str):
        """The QR code of a piece's page, as PNG.
        ---
        get:
          summary: QR code (PNG) encoding the public URL of the piece's page
          tags: [public]
          parameters:
            - {name: product_id, in: path, required: true, schema: {type: string}}
          responses:
            200: {description: The QR code, content: {image/png: {}}}
            304: {description: Not modified}
            404: {description: No such piece (a friendly HTML page), content: {text/html: {}}}
        """
        return _qr(product_id, "png")

    @blueprint.get("/01/<gtin>/21/<serial>")
    def gs1_digital_link(gtin: str, serial: str):
        """GS1 Digital Link of a piece.
        ---
        get:
          summary: Redirect a GS1 Digital Link (GTIN + serial) to the piece's page
          tags: [public]
          parameters:
            - {name: gtin, in: path, required: true, schema: {type: string, pattern: '^(\\d{8}|\\d{12,14})$'}}
            - {name: serial, in: path, required: true, schema: {type: string, maxLength: 20}}
          responses:
            307: {description: 'To /p/{product_id}'}
            400: {description: Not a valid GTIN (a friendly HTML page), content: {text/html: {}}}
            404: {description: No piece with this GTIN and serial (a friendly HTML page), content: {text/html: {}}}
        """
        lang = _language()
        gtin14 = normalise_gtin(gtin)
        if gtin14 is None:
            return friendly_error(400, lang, "badcode.title", "badcode.body", gtin=gtin[:40])
        known = len(serial) <= 20 and serial.isprintable()
        product_id = pages.view.product_by_gs1(gtin14, serial) if known else None
        if product_id is None:
            return friendly_error(404, lang, "notfound.title", "notfound.gs1", gtin=gtin, serial=serial[:40])
        target = public_path(product_id)
        if request.args.get("lang") in ("en", "fr"):
            target += f"?lang={request.args['lang']}"
        return redirect(target, code=307)

    return blueprint
