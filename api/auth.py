"""Bearer API keys on requests: the current principal."""
from __future__ import annotations

from flask import g, request

from api.context import current_context
from services.auth import Principal


def current_principal() -> Principal:
    """Authenticate the request's ``Authorization: Bearer <key>`` (once per request)."""
    principal = g.get("principal")
    if principal is None:
        header = request.headers.get("Authorization", "")
        scheme, _, key = header.partition(" ")
        key = key.strip() if scheme.lower() == "bearer" else ""
        principal = current_context().keys.authenticate(key)
        g.principal = principal
    return principal
