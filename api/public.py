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
from functools import lru_cache
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable
from urllib.parse import quote

from flask import Blueprint, Response, redirect, render_template, request
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from api.gs1 import normalise_gtin
from api.i18n import Translator, negotiate
from api.qr import qr_image
from consumers.provenance.public_views import PublicProvenanceView
from consumers.provenance.views import ProvenanceSection
from events.fields import IDENTIFIER_PATTERN

PAGE_CACHE_CONTROL = "public, max-age=60"
QR_CACHE_CONTROL = "public, max-age=86400"
VARY = "Accept-Language, Cookie"
HTML_CONTENT_TYPE = "text/html; charset=utf-8"


@dataclass(frozen=True)
class RenderedPage:
    """One rendered page (UTF-8) with its ETag, which names the read-model state it was built from."""

    etag: str
    body: bytes


class PublicPages:
    """Renders and caches public pages per state of the read models; one per app (each gunicorn
    worker has its own).

    A page's ``ETag`` is a digest of the read models' state (``view.freshness``: every projector's
    position), the day (UTC: due diligence tells what is overdue today) and what was asked (piece,
    language): a page is never served for another state, and a client holding the present ETag gets
    a 304 without any page being looked up or rendered, from any worker. The state is asked at every
    request unless ``max_staleness_s`` says otherwise; on SQLite that costs one pragma while nothing
    was committed (``CommitWatch``).

    ``sections`` (flags, due diligence, ...) are added to each story as the public sees them; the
    list is read at each render, so a section added after wiring counts too.
    """

    def __init__(self, view: PublicProvenanceView, sections: list[ProvenanceSection], capacity: int = 512,
                 max_staleness_s: float = 0.0, today: Callable[[], str] | None = None):
        self.view = view
        self.sections = sections
        self.capacity = capacity
        #: how long the read models' state is trusted before asking again (0: never trusted, every
        #: request sees the latest projected change)
        self.max_staleness_s = max_staleness_s
        self._today = today or _utc_today
        self._freshness: tuple[float, tuple] = (float("-inf"), ())
        #: per thread, the last (state, day) and its digest: a thread is given the very same state
        #: object while nothing was committed, so the digest is made once per state and thread
        self._digests = threading.local()
        self._pages: OrderedDict[str, RenderedPage] = OrderedDict()  # by ETag
        self._known: set[str] = set()
        self._lock = threading.Lock()

    def etag(self, product_id: str, lang: str) -> str:
        """The ETag of a product's page in ``lang`` in the read models' present state, today."""
        state, day = self.freshness(), self._today()
        known_state, known_day, digest = getattr(self._digests, "last", ((), "", ""))
        if known_state is not state or known_day != day:
            digest = hashlib.sha256(repr((state, day)).encode()).hexdigest()
            self._digests.last = (state, day, digest)
        return hashlib.sha256(f"{digest} {lang} {product_id}".encode()).hexdigest()[:32]

    def page(self, product_id: str, lang: str, etag: str | None = None) -> RenderedPage | None:
        """The page of a product in ``lang`` (whose ETag is ``etag`` when the caller has it), rendered
        once per state of the read models; None if there is no such product."""
        etag = etag or self.etag(product_id, lang)  # read before rendering: never filed under a newer state
        with self._lock:
            cached = self._pages.get(etag)
            if cached is not None:
                self._pages.move_to_end(etag)
                return cached
        story = self.view.story(product_id, self.sections)
        if story is None:
            return None
        html = render_template("public_product.html", **page_context(story, lang, product_id))
        page = RenderedPage(etag, html.encode())
        with self._lock:
            self._pages[etag] = page
            while len(self._pages) > self.capacity:
                self._pages.popitem(last=False)
            self._known.add(product_id)
        return page

    def freshness(self) -> tuple:
        """The read models' state, at most ``max_staleness_s`` old."""
        checked_at, state = self._freshness
        now = time.monotonic()
        if self.max_staleness_s <= 0 or now - checked_at >= self.max_staleness_s:
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


def _utc_today() -> str:
    return datetime.now(timezone.utc).date().isoformat()


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


@dataclass(frozen=True)
class _Choice:
    """The language a request asks for: ``?lang=``, the ``lang`` cookie, and the one chosen."""

    query: str | None
    cookie: str | None
    lang: str

    @classmethod
    def of_request(cls) -> _Choice:
        """The present request's choice; query string and cookies are parsed only when sent, and an
        ``Accept-Language`` header is matched once per process (a handful of browsers' headers answer
        most requests)."""
        environ = request.environ
        query = request.args.get("lang") if environ.get("QUERY_STRING") else None
        cookie = request.cookies.get("lang") if environ.get("HTTP_COOKIE") else None
        return cls(query, cookie, _negotiated(query, cookie, environ.get("HTTP_ACCEPT_LANGUAGE")))


def _language() -> str:
    return _Choice.of_request().lang


@lru_cache(maxsize=256)
def _negotiated(query: str | None, cookie: str | None, accept_language: str | None) -> str:
    return negotiate(query, cookie, parse_accept_header(accept_language, LanguageAccept) if accept_language else None)


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
        choice = _Choice.of_request()
        lang = choice.lang
        if not IDENTIFIER_PATTERN.fullmatch(product_id):
            return friendly_error(404, lang, "notfound.title", "notfound.body")
        etag = pages.etag(product_id, lang)
        # the headers are given whole (no parsing of the MIME type, the ETag quoted here): this is the
        # path a crowd of phones takes
        quoted = f'"{etag}"'
        headers = {"ETag": quoted, "Cache-Control": PAGE_CACHE_CONTROL, "Vary": VARY}
        held = request.environ.get("HTTP_IF_NONE_MATCH")  # a browser sends back the one ETag it holds
        if held and (held == quoted or request.if_none_match.contains(etag)):
            response = Response(status=304, headers=headers)  # the client holds this very page: nothing looked up
        else:
            page = pages.page(product_id, lang, etag)
            if page is None:
                return friendly_error(404, lang, "notfound.title", "notfound.body")
            response = Response(page.body, headers=headers, content_type=HTML_CONTENT_TYPE)
        if choice.query in ("en", "fr") and choice.cookie != lang:
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
