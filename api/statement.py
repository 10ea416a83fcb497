"""Statement blueprint: the links a cooperative makes for its miners, and the page a miner opens with one.

``/m/{token}`` needs no key: the token is the key, made for one miner, revocable. The page says,
in plain words and the miner's language, what the record says about them and nobody else. It is
small, needs no script, and is never cached or handed on (no referrer: its address is a secret).
"""
from __future__ import annotations

import textwrap
import threading
import time
from collections import OrderedDict
from typing import Any, Callable
from urllib.parse import quote

from flask import Blueprint, Response, jsonify, render_template, request
from markupsafe import Markup
from marshmallow import Schema, fields

from api.auth import current_principal
from api.i18n import DOMAINS, LANGUAGE_NAMES, Translator, negotiate
from api.qr import qr_inline_svg
from consumers.impact.views import StatementView
from events.fields import IDENTIFIER_PATTERN
from services.errors import Forbidden, NotFound
from services.statement_links import StatementLinks as LinkStore

LANGUAGES = DOMAINS["statement"]


class StatementLink(Schema):
    """A statement link just made: its token is shown this once."""

    link_id = fields.String(required=True, metadata={"description": "public id, to revoke it"})
    miner_id = fields.String(required=True)
    token = fields.String(required=True, metadata={"description": "the secret; only its SHA-256 is stored"})
    url = fields.String(required=True, metadata={"description": "the statement's URL, /m/{token}"})
    qr_svg = fields.String(required=True, metadata={"description": "the URL's QR code, an <svg> element"})
    created_at = fields.String(required=True)


class StatementLinkListed(Schema):
    """A statement link as listed (never its token)."""

    link_id = fields.String(required=True)
    created_by = fields.String(required=True)
    created_at = fields.String(required=True)
    revoked_at = fields.String(allow_none=True, required=True)


class StatementLinks(Schema):
    """A miner's statement links."""

    miner_id = fields.String(required=True)
    links = fields.List(fields.Nested(StatementLinkListed), required=True)


class StatementPages:
    """Renders and caches miners' statements, by miner and language, while the read models stay put.

    A statement changes only when a projector moves (a sale, a payment, a new lot), so a page is
    rendered once per state of the read models, asked of the database at most once per
    ``max_staleness_s``; one per app (each gunicorn worker has its own). The token is checked on
    every request (:class:`LiveTokens`): a revoked card stops within the same second.
    """

    def __init__(self, statements: StatementView, freshness: Callable[[], tuple], capacity: int = 1024,
                 max_staleness_s: float = 1.0):
        self.statements = statements
        self.read_freshness = freshness
        self.capacity = capacity
        self.max_staleness_s = max_staleness_s
        self._freshness: tuple[float, tuple] = (float("-inf"), ())
        self._pages: OrderedDict[tuple[str, str], tuple[tuple, str]] = OrderedDict()
        self._lock = threading.Lock()

    def page(self, miner_id: str, lang: str, path: str) -> str | None:
        """The statement of ``miner_id`` in ``lang`` as HTML; None if no such miner."""
        freshness = self.freshness()
        key = (miner_id, lang, path)
        with self._lock:
            cached = self._pages.get(key)
            if cached is not None and cached[0] == freshness:
                self._pages.move_to_end(key)
                return cached[1]
        statement = self.statements.statement(miner_id)
        if statement is None:
            return None
        html = render_template("statement.html", **page_context(statement, lang, path))
        with self._lock:
            self._pages[key] = (freshness, html)
            self._pages.move_to_end(key)
            while len(self._pages) > self.capacity:
                self._pages.popitem(last=False)
        return html

    def freshness(self) -> tuple:
        """The read models' state, asked at most once per ``max_staleness_s``."""
        checked_at, state = self._freshness
        now = time.monotonic()
        if now - checked_at >= self.max_staleness_s:
            state = self.read_freshness()
            self._freshness = (now, state)
        return state


class LiveTokens:
    """The miners of the tokens recently found live, trusted for ``max_staleness_s`` (as the pages are).

    Only live tokens are kept (a stream of made-up tokens fills nothing); a revocation made through
    this app forgets its miner's tokens at once, one made through another worker counts there within
    ``max_staleness_s``.
    """

    def __init__(self, links: LinkStore, capacity: int = 4096, max_staleness_s: float = 1.0):
        self.links = links
        self.capacity = capacity
        self.max_staleness_s = max_staleness_s
        self._found: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._lock = threading.Lock()

    def miner_of(self, token: str) -> str | None:
        """The miner whose statement ``token`` opens; None if unknown or revoked."""
        now = time.monotonic()
        with self._lock:
            found = self._found.get(token)
        if found is not None and now - found[0] < self.max_staleness_s:
            return found[1]
        miner_id = self.links.miner_of(token)
        with self._lock:
            if miner_id is None:
                self._found.pop(token, None)
            else:
                self._found[token] = (now, miner_id)
                self._found.move_to_end(token)
                while len(self._found) > self.capacity:
                    self._found.popitem(last=False)
        return miner_id

    def forget(self, miner_id: str) -> None:
        """Forget the tokens of ``miner_id`` (one of its links was revoked)."""
        with self._lock:
            for token in [token for token, (_, miner) in self._found.items() if miner == miner_id]:
                del self._found[token]


def statement_path(token: str) -> str:
    """The path of the statement a token opens."""
    return f"/m/{quote(token, safe='')}"


def statement_url(base_url: str, token: str) -> str:
    """The URL a card's QR code encodes."""
    return base_url + statement_path(token)


def page_context(statement: dict[str, Any], lang: str, path: str) -> dict[str, Any]:
    """What the statement template needs: the words, the statement and the language switch."""
    t = Translator(lang, "statement")
    site = statement["site"]
    return {"t": t, "lang": t.lang, "s": statement, "self_path": path,
            "site_words": f"{site['name']}, {site['region']}, {t.country(site['country'])}" if site else None,
            "countries": t.join([t.country(code) for code in statement["destinations"]["countries"]]),
            "languages": [(code, LANGUAGE_NAMES[code]) for code in LANGUAGES]}


def render_card(miner_id: str, cooperative: str | None, url: str) -> str:
    """A printable card (A7, a standalone SVG) with the QR code of a statement's URL and a line in every language.

    Rendered in an application context (the CLI makes one).
    """
    title = [Translator(lang, "statement")("card.title") for lang in ("en", "fr")]
    blocks: list[dict[str, Any]] = []
    y = 60 + 40 * len(title) + 20

    def block(text: str, size: int, width: int, fill: str = "#1b1710", bold: bool = False, lang: str | None = None):
        nonlocal y
        lines = textwrap.wrap(text, width) or [""]
        blocks.append({"y": y, "size": size, "lines": lines, "fill": fill, "bold": bold, "lang": lang})
        y += len(lines) * (size + 6) + 12

    block(miner_id + (f" · {cooperative}" if cooperative else ""), 28, 30, bold=True)
    for lang in LANGUAGES:
        block(Translator(lang, "statement")("card.scan"), 22, 42, lang=lang)
    block(url, 15, 60, fill="#5b5040")
    qr = qr_inline_svg(url).replace("<svg ", '<svg x="40" y="150" width="440" height="440" ', 1)
    return render_template("statement_card.svg", miner_id=miner_id, qr=Markup(qr), title=title, top=60,
                           blocks=blocks)


def _not_found(lang: str) -> Response:
    """The same answer for an unknown and a revoked token: nothing says which."""
    t = Translator(lang, "statement")
    html = render_template("statement_not_found.html", t=t, lang=t.lang)
    return _private(Response(html, status=404, mimetype="text/html"))


def _private(response: Response) -> Response:
    """A miner's page is kept by no cache and indexed by no search engine."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["Vary"] = "Accept-Language"
    return response


def create_blueprint(statements: StatementView, links: LinkStore, public_base_url: str,
                     freshness: Callable[[], tuple]) -> Blueprint:
    """The statement-link routes and the miner's page, over ``statements`` and ``links``; pages are
    cached while ``freshness`` (the read models' positions) stays the same."""
    blueprint = Blueprint("statement", __name__)
    pages = StatementPages(statements, freshness)
    tokens = LiveTokens(links)

    def _may_manage(miner_id: str) -> None:
        """Only the miner's cooperative (or an admin) makes and revokes their links."""
        principal = current_principal()
        cooperative = statements.cooperative_of(miner_id) if IDENTIFIER_PATTERN.fullmatch(miner_id) else None
        if cooperative is None:
            raise NotFound(f"No miner {miner_id!r} is registered.")
        if not principal.is_admin and principal.org_id != cooperative:
            raise Forbidden(f"Only {cooperative!r}, the miner's cooperative, and admins manage their statement links.")

    @blueprint.post("/v1/miners/<miner_id>/statement-links")
    def create_link(miner_id: str):
        """Make a statement link for a miner.
        ---
        post:
          summary: A new statement link (a random, revocable token) for one of the cooperative's miners
          description: >
            The answer holds the token, its URL (`/m/{token}`, what the card's QR code encodes) and the QR
            code as SVG, shown this once: only the token's SHA-256 is stored. The miner's cooperative
            (its keys) and admin keys may make one. `DELETE .../statement-links/{link_id}` revokes it.
          tags: [payouts]
          security: [{bearer: []}]
          parameters:
            - {name: miner_id, in: path, required: true, schema: {type: string}}
          responses:
            201:
              description: The link
              content:
                application/json:
                  schema: StatementLink
            401: {$ref: "#/components/responses/Unauthenticated"}
            403: {$ref: "#/components/responses/Forbidden"}
            404: {$ref: "#/components/responses/NotFound"}
        """
        _may_manage(miner_id)
        link = links.create(miner_id, current_principal().org_id)
        url = statement_url(public_base_url, link.token)
        return jsonify({"link_id": link.link_id, "miner_id": miner_id, "token": link.token, "url": url,
                        "qr_svg": qr_inline_svg(url), "created_at": link.created_at.isoformat()}), 201

    @blueprint.get("/v1/miners/<miner_id>/statement-links")
    def list_links(miner_id: str):
        """A miner's statement links.
        ---
        get:
          summary: The statement links of a miner (never their tokens)
          tags: [payouts]
          security: [{bearer: []}]
          parameters:
            - {name: miner_id, in: path, required: true, schema: {type: string}}
          responses:
            200:
              description: The links, newest first
              content:
                application/json:
                  schema: StatementLinks
            401: {$ref: "#/components/responses/Unauthenticated"}
            403: {$ref: "#/components/responses/Forbidden"}
            404: {$ref: "#/components/responses/NotFound"}
        """
        _may_manage(miner_id)
        return jsonify({"miner_id": miner_id, "links": links.links(miner_id)})

    @blueprint.delete("/v1/miners/<miner_id>/statement-links/<link_id>")
    def revoke_link(miner_id: str, link_id: str):
        """Revoke a statement link.
        ---
        delete:
          summary: Revoke a statement link (a lost card); its page then answers 404
          tags: [payouts]
          security: [{bearer: []}]
          parameters:
            - {name: miner_id, in: path, required: true, schema: {type: string}}
            - {name: link_id, in: path, required: true, schema: {type: string}}
          responses:
            204: {description: Revoked}
            401: {$ref: "#/components/responses/Unauthenticated"}
            403: {$ref: "#/components/responses/Forbidden"}
            404: {$ref: "#/components/responses/NotFound"}
        """
        _may_manage(miner_id)
        if not links.revoke(miner_id, link_id):
            raise NotFound(f"No live statement link {link_id!r} for {miner_id!r}.")
        tokens.forget(miner_id)
        return Response(status=204)

    @blueprint.get("/m/<token>")
    def statement_page(token: str):
        """A miner's statement.
        ---
        get:
          summary: A miner's statement, behind the QR code of their card (HTML, no key)
          description: >
            In plain words, for that miner only: the lots they are named in (day, their grams), where that
            gold went (countries, kinds of pieces and how many), the price they got per gram against the
            reference price of the day, what the sales owe them and what their cooperative paid, and when.
            English, French, Swahili or Lingala, by `?lang=`, else `Accept-Language`. No script; never
            cached. An unknown or revoked token answers 404, the same page either way.
          tags: [payouts]
          parameters:
            - {name: token, in: path, required: true, schema: {type: string}}
            - {name: lang, in: query, required: false, schema: {type: string, enum: [en, fr, sw, ln]}}
          responses:
            200: {description: The page, content: {text/html: {}}}
            404: {description: No statement (unknown or revoked token; a small HTML page), content: {text/html: {}}}
        """
        lang = negotiate(request.args.get("lang"), None, request.accept_languages, LANGUAGES)
        miner_id = tokens.miner_of(token)
        html = pages.page(miner_id, lang, statement_path(token)) if miner_id is not None else None
        if html is None:
            return _not_found(lang)
        return _private(Response(html, mimetype="text/html"))

    return blueprint
