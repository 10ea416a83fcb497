"""A newcomer's way in: the landing page, the OpenAPI document and its rendering at /docs."""
from __future__ import annotations

from pathlib import Path

from api.landing import DEMO_PIECE
from services.demo import build_demo_events

ROOT = Path(__file__).resolve().parents[2]


def test_the_landing_page_links_a_demo_piece_the_dashboard_and_the_docs(client):
    response = client.get("/")
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    for link in (f'href="/p/{DEMO_PIECE}"', 'href="/impact"', 'href="/docs"', 'href="/openapi.yaml"'):
        assert link in page


def test_the_demo_piece_is_the_first_piece_the_demo_records():
    assert build_demo_events().products[0] == DEMO_PIECE


def test_the_openapi_document_is_served_as_committed(client):
    response = client.get("/openapi.yaml")
    assert response.status_code == 200 and response.mimetype == "application/yaml"
    assert response.get_data(as_text=True) == (ROOT / "openapi.yaml").read_text()


def test_the_docs_page_loads_swagger_ui_from_this_server(client):
    page = client.get("/docs").get_data(as_text=True)
    assert 'src="/docs/assets/swagger-ui-bundle.js"' in page and 'data-document="/openapi.yaml"' in page
    starter = client.get("/static/docs.js")
    assert starter.status_code == 200 and "root.dataset.document" in starter.get_data(as_text=True)
    assert "http://" not in page and "https://" not in page  # no CDN
    script = client.get("/docs/assets/swagger-ui-bundle.js")
    assert script.status_code == 200 and "javascript" in script.mimetype and len(script.get_data()) > 500_000
    assert client.get("/docs/assets/swagger-ui.css").mimetype == "text/css"


def test_only_swagger_ui_files_are_served(client):
    for name in ("index.html", "LICENSE", "..%2Fflask_swagger_ui.py"):
        response = client.get(f"/docs/assets/{name}")
        assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"
