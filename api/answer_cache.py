"""Answers kept per state of the read models: built once, served again until a projector moves.

An answer's ``ETag`` is a digest of what it was built from (the read models' positions and
versions, what was asked, who may see what, and the day, for answers that depend on the date), so
a client that already holds it gets a 304 without the answer being built at all, in any process.
"""
from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Hashable

from cachetools import LRUCache
from flask import Response, request

#: bytes of answers one process keeps (each gunicorn worker has its own)
DEFAULT_CAPACITY_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class CachedAnswer:
    """A serialised answer and its entity tag."""

    etag: str
    body: bytes


class AnswerCache:
    """A bounded (by bytes, least recently used first out) cache of serialised answers.

    ``freshness`` tells the read models' state; it is asked of the database at most once per
    ``max_staleness_s`` (default: at every request, so that a client reads what it just wrote once
    the projectors applied it).
    """

    def __init__(self, freshness: Callable[[], tuple], capacity_bytes: int = DEFAULT_CAPACITY_BYTES,
                 max_staleness_s: float = 0.0, clock: Callable[[], float] = time.monotonic):
        self._freshness_of = freshness
        self.max_staleness_s = max_staleness_s
        self._clock = clock
        self._state: tuple[float, tuple] = (float("-inf"), ())
        self._answers: LRUCache = LRUCache(maxsize=max(capacity_bytes, 1), getsizeof=lambda answer: len(answer.body))
        self._enabled = capacity_bytes > 0
        self._lock = threading.Lock()

    def freshness(self) -> tuple:
        """The read models' state (positions and versions), at most ``max_staleness_s`` old."""
        checked_at, state = self._state
        now = self._clock()
        if self.max_staleness_s <= 0 or now - checked_at >= self.max_staleness_s:
            state = self._freshness_of()
            self._state = (now, state)
        return state

    def etag(self, key: Hashable) -> str:
        """The entity tag of the answer to ``key`` in the read models' present state, today (UTC)."""
        today = datetime.now(timezone.utc).date().isoformat()
        return hashlib.sha256(repr((self.freshness(), today, key)).encode()).hexdigest()[:32]

    def get(self, key: Hashable, build: Callable[[], bytes | None], etag: str | None = None) -> CachedAnswer | None:
        """The answer to ``key``: the cached one if the read models have not moved, else ``build()``'s
        (None when ``build`` finds nothing; nothing is cached then). ``etag``: the key's entity tag if
        the caller just read it (:meth:`etag`), so the read models' state is asked once per request."""
        if etag is None:
            etag = self.etag(key)  # read before building: an answer is never filed under a newer state
        with self._lock:
            cached = self._answers.get(etag)
        if cached is not None:
            return cached
        body = build()
        if body is None:
            return None
        answer = CachedAnswer(etag, body)
        if self._enabled and len(body) <= self._answers.maxsize:
            with self._lock:
                self._answers[etag] = answer
        return answer


def not_modified(etag: str) -> Response | None:
    """A 304 if the request's ``If-None-Match`` names ``etag``, else None."""
    if request.if_none_match.contains(etag):
        response = Response(status=304)
        response.set_etag(etag)
        return response
    return None


def answer_response(answer: CachedAnswer, mimetype: str = "application/json") -> Response:
    """``answer`` as a response carrying its ETag (a 304 if the client already holds it)."""
    response = not_modified(answer.etag) or Response(answer.body, mimetype=mimetype)
    response.set_etag(answer.etag)
    response.headers["Cache-Control"] = "private, no-cache"
    return response
