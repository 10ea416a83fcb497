"""Observability blueprint: ``GET /metrics`` and, around every request, its latency metric and its log line.

The request log has the method, the path (never the query string), the status, the duration and
the id of the API key if one was accepted; never the key itself nor any header.
"""
from __future__ import annotations

import logging
import time

from flask import Blueprint, Response, g, request

from services.metrics import Metrics

request_log = logging.getLogger("oretrail.request")

CAPTURE_ENDPOINT = "capture.post_events"


def _error_code(response: Response) -> str:
    body = response.get_json(silent=True) if response.is_json else None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("code", "unknown"))
    return "unknown"


def create_blueprint(metrics: Metrics) -> Blueprint:
    """``/metrics`` and the request hooks, counting into ``metrics``."""
    blueprint = Blueprint("observability", __name__)

    @blueprint.before_app_request
    def _start_clock() -> None:
        g.request_started = time.perf_counter()

    @blueprint.after_app_request
    def _observe(response: Response) -> Response:
        started = g.pop("request_started", None)
        if started is None:  # a response made before our hook ran: nothing to time
            return response
        seconds = time.perf_counter() - started
        endpoint = request.url_rule.rule if request.url_rule is not None else "unmatched"
        metrics.request(endpoint, request.method, response.status_code, seconds)
        if request.endpoint == CAPTURE_ENDPOINT and response.status_code >= 400:
            metrics.rejected(_error_code(response))
        principal = g.get("principal")
        request_log.info(
            "%s %s %d %.1fms", request.method, request.path, response.status_code, seconds * 1000,
            extra={"method": request.method, "path": request.path, "status": response.status_code,
                   "duration_ms": round(seconds * 1000, 2), "key_id": principal.key_id if principal else None},
        )
        return response

    @blueprint.get("/metrics", endpoint="metrics")  # the route's own name is taken by ``metrics``
    def metrics_page():
        """Prometheus metrics.
        ---
        get:
          summary: Metrics in Prometheus's text format
          description: >
            Events captured (by type and outcome), refused batches (by error code), request latency
            (by route, method and status), each projector's position, lag, throughput and dead letters.
            Serve it to your Prometheus only, not to the internet.
          tags: [operations]
          responses:
            200:
              description: The metrics
              content:
                text/plain:
                  schema: {type: string}
        """
        body, content_type = metrics.exposition()
        return Response(body, content_type=content_type)

    return blueprint
