"""Docs blueprint: the OpenAPI document at ``/openapi.yaml``, rendered by Swagger UI at ``/docs``.

Swagger UI's files come from the ``flask-swagger-ui`` package (its ``dist`` folder) and are served
from here, so the page works offline: nothing is fetched from a CDN, and its validator badge (which
would send the document to swagger.io) is off.
"""
from __future__ import annotations

from functools import cache
from importlib.resources import files
from pathlib import Path

from flask import Blueprint, Response, current_app, render_template, send_from_directory

from api.openapi import render_yaml
from services.errors import NotFound

blueprint = Blueprint("docs", __name__, template_folder="templates")

#: the files of Swagger UI the page loads (nothing else of the package is served)
ASSETS = frozenset({"swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png", "favicon-16x16.png"})
DOCUMENT_KEY = "oretrail_openapi_yaml"


@cache
def swagger_ui_folder() -> Path:
    """The folder of Swagger UI's files in the installed flask-swagger-ui package."""
    return Path(str(files("flask_swagger_ui") / "dist"))


@blueprint.get("/openapi.yaml")
def openapi_document():
    """The OpenAPI document.
    ---
    get:
      summary: This API's OpenAPI 3 document (YAML), as committed in openapi.yaml
      tags: [docs]
      responses:
        200: {description: The document, content: {application/yaml: {}}}
    """
    document = current_app.extensions.get(DOCUMENT_KEY)
    if document is None:  # built on the first request, once per app: the routes do not change
        document = current_app.extensions[DOCUMENT_KEY] = render_yaml(current_app)
    return Response(document, mimetype="application/yaml")


@blueprint.get("/docs")
def docs_page():
    """The API documentation page.
    ---
    get:
      summary: The API documentation (Swagger UI over /openapi.yaml, served from this server, works offline)
      tags: [docs]
      responses:
        200: {description: The page, content: {text/html: {}}}
    """
    return render_template("docs.html"), 200, {"Content-Type": "text/html; charset=utf-8"}


@blueprint.get("/docs/assets/<name>")
def docs_asset(name: str):
    """A file of Swagger UI.
    ---
    get:
      summary: A file of Swagger UI (script, style sheet, icon) for /docs
      tags: [docs]
      parameters:
        - {name: name, in: path, required: true, schema: {type: string, enum: [swagger-ui.css, swagger-ui-bundle.js, favicon-32x32.png, favicon-16x16.png]}}
      responses:
        200: {description: The file, content: {text/javascript: {}, text/css: {}, image/png: {}}}
        404: {$ref: "#/components/responses/NotFound"}
    """
    if name not in ASSETS:
        raise NotFound(f"No file {name!r} in the API documentation.")
    return send_from_directory(swagger_ui_folder(), name, max_age=86400)
