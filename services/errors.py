"""The errors of the command and query sides: one type per meaning, mapped to HTTP in ``api.errors``."""
from __future__ import annotations

from typing import Any


class OretrailError(Exception):
    """Base: a machine-readable ``code``, a human ``message`` and optional ``details``."""

    code = "error"

    def __init__(self, message: str, details: Any = None):
        super().__init__(message)
        self.message = message
        self.details = details


class Unauthenticated(OretrailError):
    """No API key, or one that is not known."""

    code = "unauthenticated"


class Forbidden(OretrailError):
    """The key is known but may not do this."""

    code = "forbidden"


class InvalidRequest(OretrailError):
    """The request or some of its events are malformed; ``details`` maps each field path to its errors."""

    code = "invalid"


class TooLarge(OretrailError):
    """The request has too many events or too many bytes."""

    code = "too_large"


class Conflict(OretrailError):
    """An ``event_id`` was reused for a different event, or a ``flag_id`` for another raising."""

    code = "conflict"


class NotFound(OretrailError):
    """No such product, lot or resource."""

    code = "not_found"


class Unavailable(OretrailError):
    """A backend (the log, the database) cannot be reached now; retry after ``retry_after`` seconds."""

    code = "unavailable"

    def __init__(self, message: str, retry_after: int = 5, details: Any = None):
        super().__init__(message, details)
        self.retry_after = retry_after
