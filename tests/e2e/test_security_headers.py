"""Every answer carries the security headers; answers given to a key are never stored by a cache."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests import factories as f
from tests.conftest import bearer

TEMPLATES = Path(__file__).resolve().parents[2] / "api" / "templates"


@pytest.fixture
def ring(client, admin_key, platform):
    response = client.post("/v1/events", json={"events": f.two_site_ring_chain()}, headers=bearer(admin_key))
    assert response.status_code == 200, response.get_data(as_text=True)
    platform.catch_up()


def policy(response) -> dict[str, str]:
    """The Content-Security-Policy as ``{directive: sources}``."""
    directives = (part.strip().split(" ", 1) for part in response.headers["Content-Security-Policy"].split(";"))
    return {name: rest for name, rest in directives}


def assert_common_headers(response) -> None:
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert policy(response)["frame-ancestors"] == "'none'"


def test_html_pages_may_load_only_from_this_server_and_never_be_framed(client, admin_key, ring):
    pages = [client.get("/p/ring-1"), client.get("/p/ghost"), client.get("/impact"), client.get("/01/03760123450010/21/1"),
             client.get("/v1/labels?product_id=ring-1", headers=bearer(admin_key)),
             client.get("/v1/products/ring-1/due-diligence?format=html", headers=bearer(admin_key))]
    for response in pages:
        assert response.mimetype == "text/html", response.request.path
        assert_common_headers(response)
        directives = policy(response)
        assert directives["default-src"] == "'self'"
        assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
        html = response.get_data(as_text=True)
        assert not INLINE.search(html), response.request.path


#: an inline style or script: a <style> element, a <script> without src, a style= or on...= attribute
INLINE = re.compile(r"<style|<script(?![^>]*\ssrc=)|\sstyle=|\son[a-z]+=")


def test_no_template_carries_inline_style_or_script():
    for template in TEMPLATES.glob("*.html"):
        assert not INLINE.search(template.read_text()), template.name
    assert INLINE.search("<script>alert(1)</script>") and INLINE.search('<p onclick="x">')
    assert not INLINE.search('<script src="/static/docs.js"></script>')


def test_data_answers_are_not_documents(client, buyer_key, ring):
    for response in (client.get("/healthz"), client.get("/v1/nothing"), client.get("/p/ring-1/qr.svg"),
                     client.get("/static/public.css"), client.get("/v1/lots/bar-1", headers=bearer(buyer_key))):
        assert_common_headers(response)
        assert policy(response)["default-src"] == "'none'", response.request.path


def test_the_public_page_stays_cacheable(client, ring):
    assert client.get("/p/ring-1").headers["Cache-Control"] == "public, max-age=60"
    assert "no-store" not in client.get("/p/ring-1/qr.svg").headers.get("Cache-Control", "")


@pytest.mark.parametrize("path", [
    "/v1/products/ring-1/provenance", "/v1/products/ring-1/due-diligence", "/v1/lots/bar-1", "/v1/lots/bar-1/events",
    "/v1/products/ring-1/value-chain", "/v1/impact", "/v1/findings", "/v1/payouts?cooperative_id=coop-mambasa",
    "/v1/products/ring-1/due-diligence?format=html",
])
def test_what_a_key_is_answered_is_never_stored(client, admin_key, buyer_key, ring, path):
    for key in (admin_key, buyer_key):  # the admin's answer holds restricted fields; the buyer's is the buyer's
        response = client.get(path, headers=bearer(key))
        assert response.status_code == 200 or (key == buyer_key and response.status_code == 403), path
        assert "no-store" in response.headers["Cache-Control"]
        assert_common_headers(response)


def test_errors_carry_the_headers_too(client, admin_key):
    refused = client.post("/v1/events", json={"events": [{"type": "nope"}]}, headers=bearer(admin_key))
    assert refused.status_code == 422 and refused.headers["Cache-Control"] == "no-store"
    assert_common_headers(refused)
    unauthenticated = client.get("/v1/lots/bar-1")
    assert unauthenticated.status_code == 401
    assert_common_headers(unauthenticated)
