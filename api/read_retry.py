"""Reads that lose a PostgreSQL deadlock or serialization race are tried again, not answered 500.

A rebuild switches its new tables in with DDL that locks each table in turn, while an answer built
from several queries locks them as it reads them: PostgreSQL may pick the reader as the victim of a
deadlock (SQLSTATE 40P01), or a REPEATABLE READ snapshot may fail to serialize (40001). Nothing was
written by a read, so it is simply run again; after a few tries the client gets a 503 with Retry-After.
"""
from __future__ import annotations

import functools
import time
from typing import Any, Callable

from flask import request
from sqlalchemy.exc import OperationalError

from services.errors import Unavailable

#: SQLSTATEs of a transaction PostgreSQL aborted to let another finish: worth running again
RETRYABLE = frozenset({"40P01", "40001"})
READS = frozenset({"GET", "HEAD"})
TRIES = 4


def retryable(error: OperationalError) -> bool:
    """Whether ``error`` is a deadlock or serialization failure (the reader was chosen to give way)."""
    return getattr(error.orig, "sqlstate", None) in RETRYABLE


def retry_reads(view: Callable[..., Any], pause_s: float = 0.05) -> Callable[..., Any]:
    """``view``, run again (up to ``TRIES`` times, pausing a little longer each time) when a read
    loses a deadlock or a serialization race; then a 503."""
    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        for attempt in range(1, TRIES + 1):
            try:
                return view(*args, **kwargs)
            except OperationalError as error:
                if request.method not in READS or not retryable(error):
                    raise
                if attempt == TRIES:
                    raise Unavailable("The read models are being switched; try again.", retry_after=1) from error
                time.sleep(pause_s * attempt)
        return None  # not reached: the last try returns or raises
    return wrapped
