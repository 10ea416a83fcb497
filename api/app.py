"""The Flask app factory."""
from __future__ import annotations

from flask import Flask

from api import capture, health, provenance
from api.answer_cache import AnswerCache
from api.context import AppContext
from api.read_retry import retry_reads
from api.errors import register_error_handlers
from api.json_provider import OrjsonProvider
from api.nul_guard import register_nul_guard
from api.security_headers import register_security_headers


class _OretrailFlask(Flask):
    json_provider_class = OrjsonProvider


def create_app(context: AppContext) -> Flask:
    """A Flask app serving the API over the services and views in ``context``."""
    app = _OretrailFlask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = context.settings.max_request_bytes
    app.extensions["oretrail"] = context
    register_error_handlers(app)
    register_nul_guard(app)
    register_security_headers(app)
    core = (capture.create_blueprint(context.capture),
            provenance.create_blueprint(context.provenance, context.provenance_sections, AnswerCache(
                context.freshness, context.settings.answer_cache_mb * 1024 * 1024)),
            health.create_blueprint(context.readiness))
    for blueprint in (*core, *context.blueprints):
        app.register_blueprint(blueprint)
    for endpoint, view in list(app.view_functions.items()):  # a read that loses a deadlock runs again
        app.view_functions[endpoint] = retry_reads(view)
    return app
