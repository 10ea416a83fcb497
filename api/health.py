"""Health blueprint: ``/healthz`` (alive) and ``/readyz`` (log and database reachable, projector lag)."""
from __future__ import annotations

from typing import Any, Callable

from flask import Blueprint, jsonify


def create_blueprint(readiness: Callable[[], dict[str, Any]]) -> Blueprint:
    """The health routes; ``readiness`` gives the ``/readyz`` report."""
    blueprint = Blueprint("health", __name__)

    @blueprint.get("/healthz")
    def healthz():
        """Liveness.
        ---
        get:
          summary: The process is alive
          tags: [operations]
          responses:
            200:
              description: Alive
              content:
                application/json:
                  schema: {type: object, properties: {status: {type: string}}}
        """
        return jsonify({"status": "ok"})

    @blueprint.get("/readyz")
    def readyz():
        """Readiness.
        ---
        get:
          summary: The log and the database are reachable; each projector's position and lag
          tags: [operations]
          responses:
            200:
              description: Ready
              content:
                application/json:
                  schema: Readiness
            503:
              description: The log or the database cannot be reached
              content:
                application/json:
                  schema: Readiness
        """
        report = readiness()
        response = jsonify(report)
        response.status_code = 200 if report["status"] == "ready" else 503
        return response

    return blueprint
