"""No NUL character (U+0000) in a request's path or query reaches a query: PostgreSQL cannot store or
compare text holding one (psycopg refuses it), so a ``%00`` in an id or a filter would be an
unexpected error (a 500) on PostgreSQL read models and an ordinary miss on SQLite.

Events never hold one (``events.fields.StrictString``). Checked here, once, for every route: a path
of the JSON API, of EPCIS or of a lot's URI holding one names nothing (404, this API's JSON error, as
those routes answer a miss); a query argument of the JSON API holding one is invalid (422, naming the
argument). ``NulGuardPlugin`` writes both answers into the OpenAPI document. The HTML pages (which
answer in HTML) and the EPCIS queries (RFC 7807 problems) check their own ids and arguments; the
test of every operation (``tests/e2e/test_nul_characters.py``) holds them to it.
"""
from __future__ import annotations

from apispec import BasePlugin
from flask import Flask, request
from werkzeug.exceptions import NotFound as HttpNotFound

from events.fields import NUL_MESSAGE, has_nul
from services.errors import InvalidRequest

#: the paths whose ids are checked (their misses are this API's JSON 404)
PATHS_GUARDED = ("/v1/", "/epcis/", "/id/")
#: the paths whose query arguments are checked (their errors are this API's JSON errors)
QUERIES_GUARDED = ("/v1/",)


def register_nul_guard(app: Flask) -> None:
    """Refuse, before any view runs, a request whose path or query arguments hold a NUL (see the module)."""

    @app.before_request
    def _refuse_nul() -> None:
        if has_nul(request.path) and request.path.startswith(PATHS_GUARDED):
            raise HttpNotFound()
        if not request.path.startswith(QUERIES_GUARDED):
            return
        wrong = {name.replace("\x00", "\\u0000"): [NUL_MESSAGE] for name, values in request.args.lists()
                 if has_nul(name) or any(has_nul(value) for value in values)}
        if wrong:
            raise InvalidRequest("Invalid query arguments.", details=wrong)


class NulGuardPlugin(BasePlugin):
    """Documents the guard's answers on the operations that do not already: 404 where the path has
    parameters, 422 where the operation takes query parameters."""

    def operation_helper(self, path=None, operations=None, **kwargs) -> None:
        """Add the answers to each operation of ``path``."""
        if not path:
            return
        for operation in (operations or {}).values():
            parameters = operation.get("parameters", [])
            responses = operation.setdefault("responses", {})
            if path.startswith(PATHS_GUARDED) and "{" in path and "404" not in responses and 404 not in responses:
                responses["404"] = "NotFound"
            if path.startswith(QUERIES_GUARDED) and any(isinstance(p, dict) and p.get("in") == "query" for p in parameters) \
                    and "422" not in responses and 422 not in responses:
                responses["422"] = "Invalid"
