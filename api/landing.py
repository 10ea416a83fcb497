"""Landing blueprint: ``GET /``, a small page for a newcomer with the way to a piece, the dashboard and the API."""
from __future__ import annotations

from flask import Blueprint, render_template

from api.public import public_path

blueprint = Blueprint("landing", __name__, template_folder="templates")

#: the first piece the demo records (``make run``, ``oretrail demo``: services/demo.py)
DEMO_PIECE = "LUMEN-RING-0001"


@blueprint.get("/")
def landing():
    """The landing page.
    ---
    get:
      summary: A small landing page (HTML) with links to a demo piece's page, the impact dashboard and the API docs
      tags: [public]
      responses:
        200: {description: The page, content: {text/html: {}}}
    """
    html = render_template("landing.html", piece_path=public_path(DEMO_PIECE), piece=DEMO_PIECE)
    return html, 200, {"Content-Type": "text/html; charset=utf-8"}
