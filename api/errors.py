"""Errors as JSON, ``{"error": {"code", "message", "details"}}``, mapped to HTTP statuses in one place."""
from __future__ import annotations

import logging

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from services.errors import (
    Conflict, Forbidden, InvalidRequest, NotFound, OretrailError, TooLarge, Unauthenticated, Unavailable,
)

logger = logging.getLogger(__name__)

STATUS = {
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    TooLarge: 413,
    InvalidRequest: 422,
    Unavailable: 503,
}


def error_body(code: str, message: str, details=None) -> dict:
    """The contract's error body."""
    return {"error": {"code": code, "message": message, "details": details if details is not None else {}}}


def register_error_handlers(app: Flask) -> None:
    """Map service errors and HTTP errors to JSON; anything unexpected to a logged 500."""

    @app.errorhandler(OretrailError)
    def _service_error(error: OretrailError):
        status = STATUS.get(type(error), 400)
        response = jsonify(error_body(error.code, error.message, error.details))
        response.status_code = status
        if status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="oretrail"'
        if isinstance(error, Unavailable):
            response.headers["Retry-After"] = str(error.retry_after)
        return response

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(error.code or 500, "http_error")
        message = error.description or error.name
        if error.code == 413:
            message = f"The request body is larger than {app.config['MAX_CONTENT_LENGTH']} bytes."
        response = jsonify(error_body(code, message))
        response.status_code = error.code or 500
        # keep what the HTTP error says in its headers (a 405's Allow), not its HTML body's type and length
        for name, value in error.get_headers():
            if name.lower() not in ("content-type", "content-length"):
                response.headers[name] = value
        return response

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        logger.exception("unexpected error")
        response = jsonify(error_body("internal", "An unexpected error; it has been logged."))
        response.status_code = 500
        return response
