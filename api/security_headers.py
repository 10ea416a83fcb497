"""Security headers on every answer, set in one place: CSP, nosniff, referrer policy, no-store for keyed answers."""
from __future__ import annotations

from flask import Flask, Response, g

#: HTML pages load their styles (and any image) from this server only; nothing inline, no frames,
#: no plugins, forms post only here. ``data:`` images stay allowed for the empty favicon.
HTML_POLICY = ("default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
               "form-action 'self'; frame-ancestors 'none'")
#: anything else (JSON, CSV, SVG, PNG, CSS) is data, never a document that may run or embed anything
DATA_POLICY = "default-src 'none'; frame-ancestors 'none'"
#: a page's address names a piece: it is not handed to other sites
REFERRER_POLICY = "no-referrer"


def register_security_headers(app: Flask) -> None:
    """Add the security headers to every answer of ``app``, errors included."""
    app.after_request(add_security_headers)


def add_security_headers(response: Response) -> Response:
    """Set the headers on ``response`` (an ``after_request`` hook).

    An answer to a request made with an API key is never stored by a cache: what a key sees
    depends on its role (admin and auditor keys see names, photo-ID hashes, exact coordinates and
    small groups the public never does), so no such answer may be served again from a cache.
    """
    headers = response.headers
    headers.setdefault("Content-Security-Policy", HTML_POLICY if response.mimetype == "text/html" else DATA_POLICY)
    headers["X-Content-Type-Options"] = "nosniff"
    headers.setdefault("Referrer-Policy", REFERRER_POLICY)
    if g.get("principal") is not None and "no-store" not in headers.get("Cache-Control", ""):
        headers["Cache-Control"] = "no-store"
    return response
