"""A bare Flask "hello": the reference the public page's throughput is measured against (same server, same load)."""
from __future__ import annotations

from flask import Flask


def create_app() -> Flask:
    """One route answering a short text, nothing else."""
    app = Flask(__name__)

    @app.get("/hello")
    def hello():
        return "hello"

    return app
